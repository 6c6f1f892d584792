package monitor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/container"
	"github.com/minipod/minipod/ocispec"
	"github.com/minipod/minipod/probe"
)

// kubeVersion is the Kubernetes release whose behaviour minipod reproduces, as the probes'
// and hooks' user agents name it ("kube-probe/1.37").
const kubeVersion = "1.37"

// maxExecOutput bounds what an exec probe or hook keeps of its output, like the kubelet.
const maxExecOutput = 10 << 10

// runHook runs a lifecycle hook (pkg/kubelet/lifecycle/handlers.go Run) and returns the
// kubelet's failure message with the error.
func (w *worker) runHook(ctx context.Context, inst *container.Instance, h *api.LifecycleHandler) (string, error) {
	pod := w.m.podDesc()
	switch {
	case h.Exec != nil:
		out, exit, err := inst.ExecSync(ctx, h.Exec.Command, maxExecOutput)
		if err == nil && exit.Code != 0 {
			err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(h.Exec.Command, " "), exit.Code, out)
		}
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q", h.Exec.Command, w.c.Name, pod, err, out), err
		}
	case h.HTTPGet != nil:
		req, err := w.httpRequest(h.HTTPGet, "kube-lifecycle/"+kubeVersion)
		if err == nil {
			var fellBack bool
			fellBack, err = probe.HTTPHook(ctx, req)
			if fellBack {
				w.event(api.EventWarning, "LifecycleHTTPFallback", fmt.Sprintf("request to HTTPS lifecycle hook %s got HTTP response, retry with HTTP succeeded", req.Host+":"+strconv.Itoa(req.Port)))
			}
		}
		if err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v", h.HTTPGet.Path, w.c.Name, pod, err), err
		}
	case h.Sleep != nil:
		t := time.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			err := errors.New("container terminated before sleep hook finished")
			return fmt.Sprintf("Sleep lifecycle hook (%d) for Container %q in Pod %q failed - error: %v", h.Sleep.Seconds, w.c.Name, pod, err), err
		}
	default:
		// tcpSocket is accepted by the API server but cannot run (as in the kubelet).
		err := fmt.Errorf("invalid handler: %v", handlerName(h))
		return fmt.Sprintf("Cannot run handler: %v", err), err
	}
	return "", nil
}

func handlerName(h *api.LifecycleHandler) string {
	if h.TCPSocket != nil {
		return "tcpSocket"
	}
	return "none"
}

// podDesc is the kubelet's format.Pod: name_namespace(uid).
func (m *monitor) podDesc() string {
	md := m.pod.Metadata
	return fmt.Sprintf("%s_%s(%s)", md.Name, md.Namespace, md.UID)
}

// httpRequest resolves an httpGet action: the host defaults to the pod's IP, a named port
// is looked up in the container's ports (pkg/probe/http/request.go).
func (w *worker) httpRequest(h *api.HTTPGetAction, userAgent string) (probe.HTTPRequest, error) {
	port, err := w.resolvePort(h.Port)
	if err != nil {
		return probe.HTTPRequest{}, err
	}
	req := probe.HTTPRequest{Scheme: string(h.Scheme), Host: h.Host, Port: port, Path: h.Path, UserAgent: userAgent}
	if req.Host == "" {
		req.Host = w.m.podIP()
	}
	for _, hd := range h.HTTPHeaders {
		req.Headers = append(req.Headers, probe.Header{Name: hd.Name, Value: hd.Value})
	}
	return req, nil
}

// resolvePort is ResolveContainerPort (pkg/probe/util.go): a port name from the container's
// ports, or a number.
func (w *worker) resolvePort(p intstr.IntOrString) (int, error) {
	port := int(p.IntVal)
	if p.Type == intstr.String {
		port = -1
		for _, cp := range w.c.Ports {
			if cp.Name == p.StrVal {
				port = int(cp.ContainerPort)
				break
			}
		}
		if port == -1 {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return 0, fmt.Errorf("port %s not found", p.StrVal)
			}
			port = n
		}
	}
	if port <= 0 || port > 65535 {
		return 0, fmt.Errorf("invalid port number: %v", port)
	}
	return port, nil
}

func (m *monitor) podIP() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pod.Status.PodIP
}

// execCommand is an exec action's command with $(VAR) expanded from the container's own
// env values, as the kubelet's ExpandContainerCommandOnlyStatic does for exec probes.
func (w *worker) execCommand(cmd []string) []string {
	return ocispec.ExpandCommand(cmd, w.c.Env)
}
