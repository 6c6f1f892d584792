package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
)

// pods/exec and pods/attach over the WebSocket remote command protocol kubectl speaks by
// default (v5.channel.k8s.io, and v4 for older clients), served as the kubelet's streaming
// server serves it (pkg/kubelet/cri/streaming/remotecommand/websocket.go): channels stdin 0,
// stdout 1, stderr 2, error 3 (a metav1.Status at the end: Success, or NonZeroExitCode with
// the exit code as cause), resize 4 (JSON TerminalSize); v5 adds the client's close of stdin.
// The monitor's exec and attach calls frame the same channels (package monitorapi), so the
// daemon only relays. SPDY, the older transport, is not served: kubectl falls back to it only
// when the WebSocket upgrade itself fails.

const (
	chStdin = iota
	chStdout
	chStderr
	chError
	chResize
)

type streamOptions struct {
	container                  string
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseStreamOptions(r *http.Request, exec bool) (*streamOptions, error) {
	q := r.URL.Query()
	o := &streamOptions{container: q.Get("container"), command: q["command"]}
	for _, f := range []struct {
		name string
		v    *bool
	}{{"stdin", &o.stdin}, {"stdout", &o.stdout}, {"stderr", &o.stderr}, {"tty", &o.tty}} {
		if s := q.Get(f.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return nil, errBadRequest(fmt.Sprintf("%s: invalid value %q", f.name, s))
			}
			*f.v = b
		}
	}
	if exec && len(o.command) == 0 {
		return nil, errBadRequest("you must specify at least 1 command")
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return nil, errBadRequest("you must specify at least 1 of stdin, stdout, stderr")
	}
	if o.tty && o.stderr {
		// A terminal has one output (remotecommand's NewOptions).
		o.stderr = false
	}
	return o, nil
}

// streamTarget checks the pod and container a stream is for: the pod must not have completed
// (pkg/registry/core/pod/rest/subresources.go, streamLocation), the container must run.
func (s *Server) streamTarget(r *http.Request, o *streamOptions, verb string) (*api.Pod, string, error) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	p, _ := s.store.get(ns, name)
	if p == nil {
		return nil, "", errNotFound(podsResource, name)
	}
	if ph := p.Status.Phase; ph == api.PodSucceeded || ph == api.PodFailed {
		return nil, "", errBadRequest(fmt.Sprintf("cannot %s into a container in a completed pod; current phase is %s", verb, ph))
	}
	c, err := logContainer(p, o.container)
	if err != nil {
		return nil, "", err
	}
	if cs := containerStatus(p, c); cs == nil || cs.State.Running == nil {
		return nil, "", errBadRequest(fmt.Sprintf("unable to upgrade connection: container not found (%q)", c))
	}
	return p, c, nil
}

func (s *Server) podExec(w http.ResponseWriter, r *http.Request) { s.stream(w, r, true) }

func (s *Server) podAttach(w http.ResponseWriter, r *http.Request) { s.stream(w, r, false) }

func (s *Server) stream(w http.ResponseWriter, r *http.Request, exec bool) {
	verb := "attach"
	if exec {
		verb = "exec"
	}
	o, err := parseStreamOptions(r, exec)
	if err != nil {
		writeError(w, err)
		return
	}
	p, container, err := s.streamTarget(r, o, verb)
	if err != nil {
		writeError(w, err)
		return
	}
	if !wsstream.IsWebSocketRequest(r) {
		writeError(w, errBadRequest("upgrade request required: minipod serves pods/"+verb+" over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)"))
		return
	}
	channels := []wsstream.ChannelType{wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.ReadChannel}
	if o.stdin {
		channels[chStdin] = wsstream.ReadChannel
	}
	if o.stdout {
		channels[chStdout] = wsstream.WriteChannel
	}
	if o.stderr {
		channels[chStderr] = wsstream.WriteChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"v5.channel.k8s.io":        {Binary: true, Channels: channels},
		"v4.channel.k8s.io":        {Binary: true, Channels: channels},
		"v4.base64.channel.k8s.io": {Binary: false, Channels: channels},
	})
	conn.SetIdleTimeout(4 * time.Hour) // the kubelet's --streaming-connection-idle-timeout
	_, streams, err := conn.Open(w, r)
	if err != nil {
		s.log.Debug("websocket upgrade", "err", err)
		return
	}
	defer conn.Close()
	// The client waits for a first (empty) message on the lowest writable channel.
	switch {
	case o.stdout:
		streams[chStdout].Write(nil)
	case o.stderr:
		streams[chStderr].Write(nil)
	default:
		streams[chError].Write(nil)
	}
	var stdio monitorapi.Stdio
	if o.stdin {
		stdio.Stdin = streams[chStdin]
	}
	if o.stdout {
		stdio.Stdout = streams[chStdout]
	}
	if o.stderr {
		stdio.Stderr = streams[chStderr]
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if o.tty {
		resize := make(chan monitorapi.TerminalSize, 1)
		stdio.Resize = resize
		go func() {
			dec := json.NewDecoder(streams[chResize])
			for {
				var sz monitorapi.TerminalSize
				if err := dec.Decode(&sz); err != nil {
					return
				}
				select {
				case resize <- sz:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	req := monitorapi.Request{Container: container, Command: o.command, Stdin: o.stdin, TTY: o.tty}
	mc := monitorapi.NewClient(s.cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name))
	var code int32
	if exec {
		code, err = mc.Exec(ctx, req, stdio)
	} else {
		code, err = mc.Attach(ctx, req, stdio)
		// The kubelet reports an attach that ends as a success, whatever the container's exit
		// code (pkg/kubelet/cri/streaming/remotecommand/attach.go ServeAttach: only exec maps
		// an exit code to NonZeroExitCode): kubectl attach and debug -it exit 0.
		code = 0
	}
	st := metav1.Status{TypeMeta: metav1.TypeMeta{}, Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: err.Error(),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Message: err.Error()}}}}
		var me *monitorapi.Error
		if errors.As(err, &me) && me.Kind == monitorapi.FailedPrecondition && code != 0 {
			st.Message = fmt.Sprintf("command terminated with non-zero exit code: %s", me.Message)
		}
	case code != 0:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(int(code))}}}}
	}
	b, _ := json.Marshal(&st)
	streams[chError].Write(b)
	for _, i := range []int{chStdout, chStderr, chError} {
		if c, ok := streams[i].(io.Closer); ok {
			c.Close()
		}
	}
}
