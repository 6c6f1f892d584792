package monitor

import (
	"fmt"
	"strings"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/image"
)

// pullKeyring makes the credentials of the pod's image pull secrets, as the kubelet does before
// a pull (getPullSecretsForPod, MakeDockerKeyring): Secrets of type
// kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg count, others are ignored; one
// that does not parse fails the pull; missing ones are named in a
// FailedToRetrieveImagePullSecret event and the pull goes on without them. Nil when the pod
// has none. Image volumes are pulled with them too (getImageVolumes passes the pod's pull
// secrets to EnsureImageExists).
func (m *monitor) pullKeyring() (*image.Keyring, error) {
	refs := m.pod.Spec.ImagePullSecrets
	if len(refs) == 0 {
		return nil, nil
	}
	k := &image.Keyring{}
	var missing []string
	for _, ref := range refs {
		if ref.Name == "" {
			continue // the API server lets empty names through; the kubelet skips them
		}
		s, err := m.configVols.store.Secret(m.pod.Metadata.Namespace, ref.Name)
		if err != nil {
			m.log.Info("unable to retrieve pull secret, the image pull may not succeed", "secret", ref.Name, "err", err)
			missing = append(missing, ref.Name)
			continue
		}
		switch {
		case s.Type == api.SecretTypeDockerConfigJSON && len(s.Data[api.DockerConfigJSONKey]) > 0:
			err = k.AddDockerConfigJSON(s.Data[api.DockerConfigJSONKey])
		case s.Type == api.SecretTypeDockercfg && len(s.Data[api.DockerConfigKey]) > 0:
			err = k.AddDockercfg(s.Data[api.DockerConfigKey])
		}
		if err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		m.event(nil, api.EventWarning, "FailedToRetrieveImagePullSecret",
			fmt.Sprintf("Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", strings.Join(missing, ", ")))
	}
	return k, nil
}
