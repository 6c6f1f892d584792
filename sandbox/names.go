package sandbox

import (
	"fmt"
	"os"
	"strings"

	"github.com/minipod/minipod/api"
)

// podNames returns the pod's hostname and domain as the kubelet computes them
// (pkg/kubelet/kubelet_pods.go GeneratePodHostNameAndDomain): spec.hostname, else the pod's
// name, cut to 63 characters; the domain <subdomain>.<namespace>.svc.<cluster domain> when
// spec.subdomain is set. nodename is what the pod's UTS namespace gets
// (pkg/kubelet/util GetNodenameForKernel): the hostname, or with setHostnameAsFQDN and a
// domain the fully qualified name, which must fit the kernel's 64 characters.
func podNames(pod *api.Pod, clusterDomain string) (hostname, domain, nodename string, err error) {
	hostname = pod.Metadata.Name
	if h := pod.Spec.Hostname; h != "" {
		hostname = h
	}
	// truncatePodHostnameIfNeeded.
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
		if hostname == "" {
			return "", "", "", fmt.Errorf("hostname for pod %q was invalid: %q", pod.Metadata.Name, pod.Spec.Hostname)
		}
	}
	if s := pod.Spec.Subdomain; s != "" {
		domain = fmt.Sprintf("%s.%s.svc.%s", s, pod.Metadata.Namespace, clusterDomain)
	}
	nodename = hostname
	if domain != "" && pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN {
		const fqdnMaxLen = 64
		fqdn := hostname + "." + domain
		if len(fqdn) > fqdnMaxLen {
			return "", "", "", fmt.Errorf("failed to construct FQDN from pod hostname and cluster domain, FQDN %s is too long (%d characters is the max, %d characters requested)", fqdn, fqdnMaxLen, len(fqdn))
		}
		nodename = fqdn
	}
	return hostname, domain, nodename, nil
}

// hostHostname is the host's own name, what a pod on the host's network sees (containerd
// writes it to the sandbox's /etc/hostname and HOSTNAME when the sandbox has none).
func hostHostname() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name: %w", err)
	}
	return h, nil
}
