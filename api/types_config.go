package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The core/v1 types through which a pod takes configuration: environment variables from
// ConfigMaps, Secrets and the downward API, the volumes that project them as files, and the
// pull secrets of its images; and the ConfigMap and Secret objects themselves.

// EnvVarSource is where an environment variable's value comes from: exactly one member.
type EnvVarSource struct {
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	ConfigMapKeyRef  *ConfigMapKeySelector  `json:"configMapKeyRef,omitempty"`
	SecretKeyRef     *SecretKeySelector     `json:"secretKeyRef,omitempty"`
	FileKeyRef       *FileKeySelector       `json:"fileKeyRef,omitempty"`
}

// ObjectFieldSelector selects a field of the pod (the downward API), e.g. metadata.name or
// metadata.labels['app'].
type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

// ResourceFieldSelector selects a container's request or limit, e.g. limits.memory, in units
// of Divisor (default 1).
type ResourceFieldSelector struct {
	ContainerName string            `json:"containerName,omitempty"`
	Resource      string            `json:"resource"`
	Divisor       resource.Quantity `json:"divisor,omitempty"`
}

// LocalObjectReference names an object of the pod's namespace.
type LocalObjectReference struct {
	Name string `json:"name,omitempty"`
}

// ConfigMapKeySelector selects one key of a ConfigMap.
type ConfigMapKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	Optional             *bool  `json:"optional,omitempty"`
}

// SecretKeySelector selects one key of a Secret.
type SecretKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	Optional             *bool  `json:"optional,omitempty"`
}

// FileKeySelector selects one variable of an env file in one of the pod's emptyDir volumes
// (the EnvFiles feature, beta and on by default since Kubernetes 1.35).
type FileKeySelector struct {
	VolumeName string `json:"volumeName"`
	Path       string `json:"path"`
	Key        string `json:"key"`
	Optional   *bool  `json:"optional,omitempty"`
}

// EnvFromSource makes every key of a ConfigMap or a Secret a variable: exactly one of the
// references, each name prefixed with Prefix.
type EnvFromSource struct {
	Prefix       string              `json:"prefix,omitempty"`
	ConfigMapRef *ConfigMapEnvSource `json:"configMapRef,omitempty"`
	SecretRef    *SecretEnvSource    `json:"secretRef,omitempty"`
}

type ConfigMapEnvSource struct {
	LocalObjectReference `json:",inline"`
	Optional             *bool `json:"optional,omitempty"`
}

type SecretEnvSource struct {
	LocalObjectReference `json:",inline"`
	Optional             *bool `json:"optional,omitempty"`
}

// KeyToPath projects one key to a file path relative to the volume, with an optional mode.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// ConfigMapVolumeSource projects a ConfigMap's keys as files.
type ConfigMapVolumeSource struct {
	LocalObjectReference `json:",inline"`
	Items                []KeyToPath `json:"items,omitempty"`
	DefaultMode          *int32      `json:"defaultMode,omitempty"`
	Optional             *bool       `json:"optional,omitempty"`
}

// SecretVolumeSource projects a Secret's keys as files, on tmpfs.
type SecretVolumeSource struct {
	SecretName  string      `json:"secretName,omitempty"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

// DownwardAPIVolumeSource projects fields of the pod and resources of its containers as files.
type DownwardAPIVolumeSource struct {
	Items       []DownwardAPIVolumeFile `json:"items,omitempty"`
	DefaultMode *int32                  `json:"defaultMode,omitempty"`
}

// DownwardAPIVolumeFile is one file of a downwardAPI volume: exactly one of the references.
type DownwardAPIVolumeFile struct {
	Path             string                 `json:"path"`
	FieldRef         *ObjectFieldSelector   `json:"fieldRef,omitempty"`
	ResourceFieldRef *ResourceFieldSelector `json:"resourceFieldRef,omitempty"`
	Mode             *int32                 `json:"mode,omitempty"`
}

// ProjectedVolumeSource combines several sources in one directory, on tmpfs.
type ProjectedVolumeSource struct {
	Sources     []VolumeProjection `json:"sources"`
	DefaultMode *int32             `json:"defaultMode,omitempty"`
}

// VolumeProjection is one source of a projected volume: exactly one member. The sources that
// need an API server (a service account token, a cluster trust bundle, a pod certificate)
// are read so that validation can refuse them with the reason.
type VolumeProjection struct {
	Secret              *SecretProjection      `json:"secret,omitempty"`
	DownwardAPI         *DownwardAPIProjection `json:"downwardAPI,omitempty"`
	ConfigMap           *ConfigMapProjection   `json:"configMap,omitempty"`
	ServiceAccountToken *UnprovidedSource      `json:"serviceAccountToken,omitempty"`
	ClusterTrustBundle  *UnprovidedSource      `json:"clusterTrustBundle,omitempty"`
	PodCertificate      *UnprovidedSource      `json:"podCertificate,omitempty"`
}

type SecretProjection struct {
	LocalObjectReference `json:",inline"`
	Items                []KeyToPath `json:"items,omitempty"`
	Optional             *bool       `json:"optional,omitempty"`
}

type ConfigMapProjection struct {
	LocalObjectReference `json:",inline"`
	Items                []KeyToPath `json:"items,omitempty"`
	Optional             *bool       `json:"optional,omitempty"`
}

type DownwardAPIProjection struct {
	Items []DownwardAPIVolumeFile `json:"items,omitempty"`
}

// UnprovidedSource is a source minipod reads only to refuse it: its content, whatever it is,
// is kept as written.
type UnprovidedSource struct{ raw json.RawMessage }

func (u *UnprovidedSource) UnmarshalJSON(b []byte) error {
	u.raw = append(u.raw[:0], b...)
	return nil
}

func (u UnprovidedSource) MarshalJSON() ([]byte, error) {
	if len(u.raw) == 0 {
		return []byte("{}"), nil
	}
	return u.raw, nil
}

// Defaults of the volume sources' file modes (pkg/apis/core/v1/defaults.go).
const (
	ConfigMapVolumeSourceDefaultMode   int32 = 0o644
	SecretVolumeSourceDefaultMode      int32 = 0o644
	DownwardAPIVolumeSourceDefaultMode int32 = 0o644
	ProjectedVolumeSourceDefaultMode   int32 = 0o644
)

// ConfigMap is a Kubernetes v1 ConfigMap. Fields are in the order kubectl prints them.
type ConfigMap struct {
	APIVersion string            `json:"apiVersion"`
	BinaryData map[string]Bytes  `json:"binaryData,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Kind       string            `json:"kind"`
	Metadata   ObjectMeta        `json:"metadata"`
}

// SecretType is a Secret's type: Opaque by default, or one of the kubernetes.io/ types whose
// keys the API server checks.
type SecretType string

const (
	SecretTypeOpaque              SecretType = "Opaque"
	SecretTypeServiceAccountToken SecretType = "kubernetes.io/service-account-token"
	SecretTypeDockercfg           SecretType = "kubernetes.io/dockercfg"
	SecretTypeDockerConfigJSON    SecretType = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth           SecretType = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth             SecretType = "kubernetes.io/ssh-auth"
	SecretTypeTLS                 SecretType = "kubernetes.io/tls"
	SecretTypeBootstrapToken      SecretType = "bootstrap.kubernetes.io/token"
)

// The keys the typed Secrets must hold (core/v1).
const (
	ServiceAccountNameKey = "kubernetes.io/service-account.name"
	DockerConfigKey       = ".dockercfg"
	DockerConfigJSONKey   = ".dockerconfigjson"
	BasicAuthUsernameKey  = "username"
	BasicAuthPasswordKey  = "password"
	SSHAuthPrivateKey     = "ssh-privatekey"
	TLSCertKey            = "tls.crt"
	TLSPrivateKeyKey      = "tls.key"
)

// Secret is a Kubernetes v1 Secret. stringData is write-only: on load it is merged into data,
// as the API server does, and it is never stored.
type Secret struct {
	APIVersion string            `json:"apiVersion"`
	Data       map[string]Bytes  `json:"data,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Kind       string            `json:"kind"`
	Metadata   ObjectMeta        `json:"metadata"`
	StringData map[string]string `json:"stringData,omitempty"`
	Type       SecretType        `json:"type,omitempty"`
}

// Bytes is binary data, base64 in JSON (as []byte is in Kubernetes' types).
type Bytes []byte

func (b *Bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("must be a base64-encoded string")
	}
	// encoding/json's decoding of []byte, which the API server uses: standard encoding,
	// padded, line breaks ignored.
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, []byte(s))
	if err != nil {
		return err
	}
	*b = out[:n]
	return nil
}

func (b Bytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// The sources of env and of volumes are encoded through plain copies of themselves, so that
// encoding/json builds their encoders the first time a pod has one, not on the first status
// of every pod: building the encoders of the whole Pod type graph is most of what a status
// write costs an idle monitor (about 60 KB for these types). Decoding is lazy already.
type (
	plainEnvVarSource            EnvVarSource
	plainEnvFromSource           EnvFromSource
	plainConfigMapVolumeSource   ConfigMapVolumeSource
	plainSecretVolumeSource      SecretVolumeSource
	plainDownwardAPIVolumeSource DownwardAPIVolumeSource
	plainProjectedVolumeSource   ProjectedVolumeSource
)

func (s EnvVarSource) MarshalJSON() ([]byte, error)  { return json.Marshal(plainEnvVarSource(s)) }
func (s EnvFromSource) MarshalJSON() ([]byte, error) { return json.Marshal(plainEnvFromSource(s)) }
func (s ConfigMapVolumeSource) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainConfigMapVolumeSource(s))
}
func (s SecretVolumeSource) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainSecretVolumeSource(s))
}
func (s DownwardAPIVolumeSource) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainDownwardAPIVolumeSource(s))
}
func (s ProjectedVolumeSource) MarshalJSON() ([]byte, error) {
	return json.Marshal(plainProjectedVolumeSource(s))
}
