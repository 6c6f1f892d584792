package api

import "strings"

// Why minipod refuses a real Kubernetes Pod field it does not implement, by field pattern
// ("[]" for list elements; a container's fields under "containers[]" whatever the kind of
// container). A refused field without an entry is "not supported yet". Group reasons are
// shared so that the README's table (TestRefusalReasonsInREADME) stays short.
const (
	reasonStorage    = "needs a storage system minipod does not run on one host; use hostPath or persistentVolumeClaim"
	reasonDRA        = "dynamic resource allocation needs a cluster's DRA driver"
	reasonUserFields = "alpha in Kubernetes 1.37 (feature gate AtomicWriteVolumeUserFields, off by default): a default API server drops it"
)

var refusalReasons = map[string]string{
	// Network and cloud volume plugins: each needs its storage system (and usually a cluster's
	// attach/detach controller or CSI driver).
	"spec.volumes[].awsElasticBlockStore": reasonStorage,
	"spec.volumes[].azureDisk":            reasonStorage,
	"spec.volumes[].azureFile":            reasonStorage,
	"spec.volumes[].cephfs":               reasonStorage,
	"spec.volumes[].cinder":               reasonStorage,
	"spec.volumes[].csi":                  reasonStorage,
	"spec.volumes[].fc":                   reasonStorage,
	"spec.volumes[].flocker":              reasonStorage,
	"spec.volumes[].gcePersistentDisk":    reasonStorage,
	"spec.volumes[].glusterfs":            reasonStorage,
	"spec.volumes[].iscsi":                reasonStorage,
	"spec.volumes[].nfs":                  reasonStorage,
	"spec.volumes[].photonPersistentDisk": reasonStorage,
	"spec.volumes[].portworxVolume":       reasonStorage,
	"spec.volumes[].quobyte":              reasonStorage,
	"spec.volumes[].rbd":                  reasonStorage,
	"spec.volumes[].scaleIO":              reasonStorage,
	"spec.volumes[].storageos":            reasonStorage,
	"spec.volumes[].vsphereVolume":        reasonStorage,
	"spec.volumes[].flexVolume":           "needs a FlexVolume driver on the node (deprecated in Kubernetes); use hostPath or persistentVolumeClaim",
	"spec.volumes[].ephemeral":            "needs a StorageClass and a provisioner to make its claim; use emptyDir, or a persistentVolumeClaim of minipod's named volumes",
	"spec.volumes[].gitRepo":              "deprecated in Kubernetes (the kubelet runs git on the host); use an init container that clones into an emptyDir",
	"spec.volumes[].emptyDir.mode":        "alpha in Kubernetes 1.37 (feature gate EmptyDirVolumeMode, off by default): a default API server drops it",

	// Alpha fields of Kubernetes 1.37, off by default.
	"spec.volumes[].configMap.defaultUser":                        reasonUserFields,
	"spec.volumes[].configMap.items[].user":                       reasonUserFields,
	"spec.volumes[].secret.defaultUser":                           reasonUserFields,
	"spec.volumes[].secret.items[].user":                          reasonUserFields,
	"spec.volumes[].downwardAPI.defaultUser":                      reasonUserFields,
	"spec.volumes[].downwardAPI.items[].user":                     reasonUserFields,
	"spec.volumes[].projected.defaultUser":                        reasonUserFields,
	"spec.volumes[].projected.sources[].configMap.items[].user":   reasonUserFields,
	"spec.volumes[].projected.sources[].secret.items[].user":      reasonUserFields,
	"spec.volumes[].projected.sources[].downwardAPI.items[].user": reasonUserFields,
	"containers[].livenessProbe.httpGet.protocol":                 reasonH2C,
	"containers[].readinessProbe.httpGet.protocol":                reasonH2C,
	"containers[].startupProbe.httpGet.protocol":                  reasonH2C,
	"containers[].lifecycle.postStart.httpGet.protocol":           reasonH2C,
	"containers[].lifecycle.preStop.httpGet.protocol":             reasonH2C,
	"containers[].livenessProbe.grpc.mode":                        reasonGRPCTLS,
	"containers[].readinessProbe.grpc.mode":                       reasonGRPCTLS,
	"containers[].startupProbe.grpc.mode":                         reasonGRPCTLS,
	"containers[].volumeMounts[].bindMountOptions":                "alpha in Kubernetes (feature gate VolumeBindMountOptions, off by default): a default API server drops it",
	"spec.evictionResponders":                                     "alpha in Kubernetes 1.37 (feature gate EvictionRequestAPI): needs a cluster's eviction request API",
	"spec.schedulingGroup":                                        "needs a cluster's workload-aware scheduler (feature gate GenericWorkload, off by default)",

	// Dynamic resource allocation.
	"spec.resourceClaims":           reasonDRA,
	"spec.resources.claims":         reasonDRA,
	"containers[].resources.claims": reasonDRA,

	"containers[].volumeDevices":      "raw block devices need a block PersistentVolume; minipod's claims are directories (use hostPath with type BlockDevice)",
	"containers[].restartPolicyRules": "not supported yet: minipod's restart policy has no per-exit-code rules",
	"spec.hostnameOverride":           "not supported yet; spec.hostname sets the pod's hostname",
}

const (
	reasonH2C     = "alpha in Kubernetes 1.37 (feature gate H2CContainerProbe, off by default): a default API server drops it"
	reasonGRPCTLS = "alpha in Kubernetes 1.37 (feature gate GRPCContainerProbeTLS, off by default): a default API server drops it"
)

// refusal is the error detail of a refused field, by its pattern.
func refusal(pattern string) string {
	for _, kind := range []string{"spec.containers[].", "spec.initContainers[].", "spec.ephemeralContainers[]."} {
		if rest, ok := strings.CutPrefix(pattern, kind); ok {
			pattern = "containers[]." + rest
			break
		}
	}
	if r, ok := refusalReasons[pattern]; ok {
		return "not supported: " + r
	}
	return "not supported yet"
}
