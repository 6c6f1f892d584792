package api

// Storage volume sources (persistentVolumeClaim, image) and the PersistentVolumeClaim object
// that declares a named volume, with core/v1's JSON names.

// PersistentVolumeClaimVolumeSource mounts the named volume of a claim in the pod's namespace.
type PersistentVolumeClaimVolumeSource struct {
	ClaimName string `json:"claimName"`
	// ReadOnly mounts the volume read-only in every container (the kubelet's mustMountRO).
	ReadOnly bool `json:"readOnly,omitempty"`
}

// ImageVolumeSource mounts an image's (or artifact's) content read-only (Kubernetes 1.31+,
// KEP-4639).
type ImageVolumeSource struct {
	Reference  string     `json:"reference,omitempty"`
	PullPolicy PullPolicy `json:"pullPolicy,omitempty"`
}

// PersistentVolumeClaim is a core/v1 PersistentVolumeClaim: on one host, the declaration of a
// named local volume.
type PersistentVolumeClaim struct {
	APIVersion string                      `json:"apiVersion"`
	Kind       string                      `json:"kind"`
	Metadata   ObjectMeta                  `json:"metadata"`
	Spec       PersistentVolumeClaimSpec   `json:"spec"`
	Status     PersistentVolumeClaimStatus `json:"status,omitempty"`
}

type PersistentVolumeAccessMode string

const (
	ReadWriteOnce    PersistentVolumeAccessMode = "ReadWriteOnce"
	ReadOnlyMany     PersistentVolumeAccessMode = "ReadOnlyMany"
	ReadWriteMany    PersistentVolumeAccessMode = "ReadWriteMany"
	ReadWriteOncePod PersistentVolumeAccessMode = "ReadWriteOncePod"
)

type PersistentVolumeMode string

const (
	PersistentVolumeBlock      PersistentVolumeMode = "Block"
	PersistentVolumeFilesystem PersistentVolumeMode = "Filesystem"
)

// ResourceStorage is the resource a claim requests.
const ResourceStorage = "storage"

type PersistentVolumeClaimSpec struct {
	AccessModes      []PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	Resources        VolumeResourceRequirements   `json:"resources,omitempty"`
	StorageClassName *string                      `json:"storageClassName,omitempty"`
	VolumeMode       *PersistentVolumeMode        `json:"volumeMode,omitempty"`
}

type VolumeResourceRequirements struct {
	Limits   ResourceList `json:"limits,omitempty"`
	Requests ResourceList `json:"requests,omitempty"`
}

type PersistentVolumeClaimPhase string

const ClaimBound PersistentVolumeClaimPhase = "Bound"

type PersistentVolumeClaimStatus struct {
	Phase       PersistentVolumeClaimPhase   `json:"phase,omitempty"`
	AccessModes []PersistentVolumeAccessMode `json:"accessModes,omitempty"`
	Capacity    ResourceList                 `json:"capacity,omitempty"`
}
