// Package monitorapi is the protocol of a pod monitor's socket (<pod dir>/monitor.sock, root
// only): what commands, and later the daemon and a CRI server, use to talk to a running pod.
//
// A connection carries one call. The client writes one JSON Request line; the monitor answers
// with one JSON Reply line. Then, depending on the call:
//   - status, stop, reopenLog, containers, addEphemeralContainer: nothing more;
//   - watch: a stream of WatchEvent lines (the current status and the pod's past events first,
//     then every change as it happens) until the monitor ends or the client hangs up;
//   - exec, attach: frames in both directions (see Frame) until the process exits; the last
//     frame from the monitor is on ChannelStatus.
//
// The calls are container-granular and keyed so that the Kubernetes API server and the CRI
// map onto them: containers are named, each attempt is an instance with its own ID, and the
// monitor's files (record, status, lock) remain the truth after a crash.
package monitorapi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/minipod/minipod/api"
)

// SocketFile is the monitor's socket, in the pod's state directory.
const SocketFile = "monitor.sock"

// MaxRequest bounds a request line.
const MaxRequest = 1 << 20

// Operations.
const (
	OpStatus     = "status"     // the pod as a v1 Pod with its status
	OpWatch      = "watch"      // status changes and events, pushed
	OpStop       = "stop"       // stop the pod with a grace period; a later, shorter one wins
	OpExec       = "exec"       // run a process in a container
	OpAttach     = "attach"     // attach to a container's main process
	OpReopenLog  = "reopenLog"  // reopen a container's log file (after an external rotation)
	OpContainers = "containers" // the container instances: one per attempt, exited ones kept
	OpMetadata   = "metadata"   // replace the pod's labels and annotations (downwardAPI volumes follow)
	// OpAddEphemeralContainer adds an ephemeral container to the running pod, as a write to
	// the pods/ephemeralcontainers subresource does: the reply holds the updated pod.
	OpAddEphemeralContainer = "addEphemeralContainer"
)

// Request is the first line of a call.
type Request struct {
	Op string `json:"op"`
	// GracePeriodSeconds overrides the pod's terminationGracePeriodSeconds (stop).
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds,omitempty"`
	// Remove has the monitor remove the pod's status and logs once it stopped it (stop).
	Remove bool `json:"remove,omitempty"`
	// Container names a container of the pod (exec, attach, reopenLog); empty means the
	// first regular container, as kubectl chooses.
	Container string `json:"container,omitempty"`
	// Command is the process to run (exec).
	Command []string `json:"command,omitempty"`
	// Stdin, TTY: whether the client sends input, and wants a terminal (exec, attach).
	Stdin bool `json:"stdin,omitempty"`
	TTY   bool `json:"tty,omitempty"`
	// Size is the terminal's initial size when TTY is set.
	Size *TerminalSize `json:"size,omitempty"`
	// Metadata holds the pod's new labels and annotations (metadata).
	Metadata *Metadata `json:"metadata,omitempty"`
	// EphemeralContainer is a Kubernetes v1 EphemeralContainer in its JSON shape
	// (addEphemeralContainer), decoded by the monitor with strict field validation.
	EphemeralContainer json.RawMessage `json:"ephemeralContainer,omitempty"`
}

// Metadata is what of a running pod's metadata may change: its labels and annotations, each
// replaced whole.
type Metadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}

// Reply is the monitor's answer line.
type Reply struct {
	Error      *Error      `json:"error,omitempty"`
	Pod        *api.Pod    `json:"pod,omitempty"`        // status
	Containers []Container `json:"containers,omitempty"` // containers
}

// Container is one instance (attempt) of one of the pod's containers.
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Attempt int32  `json:"attempt"`
	State   string `json:"state"` // created, running, exited
	LogPath string `json:"logPath"`
}

// WatchEvent is one line of a watch stream: a new status, or an event.
type WatchEvent struct {
	Type  string     `json:"type"` // "status" or "event"
	Pod   *api.Pod   `json:"pod,omitempty"`
	Event *api.Event `json:"event,omitempty"`
}

// Error kinds: the few classes a caller reacts to differently, mapped to exit codes here and
// to HTTP and gRPC codes by the daemon and a CRI server.
const (
	NotFound           = "NotFound"
	Invalid            = "Invalid"
	FailedPrecondition = "FailedPrecondition"
	Unavailable        = "Unavailable"
	Internal           = "Internal"
)

// Error is a failed call.
type Error struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Causes are the fields at fault of an Invalid request, like a Kubernetes Status's
	// details.causes.
	Causes []Cause `json:"causes,omitempty"`
}

// Cause is one field at fault: its path and what is wrong with it, e.g.
// spec.ephemeralContainers[1].name and `Duplicate value: "debugger"`.
type Cause struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of a kind.
func Errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// IsKind reports whether err is an *Error of the kind.
func IsKind(err error, kind string) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// Frames of exec and attach streams: a channel byte, a big-endian uint32 length, the payload.
// The channels are those of Kubernetes' remote command protocol (v5.channel.k8s.io), so the
// daemon relays them as they are.
const (
	ChannelStdin  = 0
	ChannelStdout = 1
	ChannelStderr = 2
	ChannelStatus = 3   // monitor -> client, last: an ExitStatus
	ChannelResize = 4   // client -> monitor: a TerminalSize
	ChannelClose  = 255 // client -> monitor: payload [ChannelStdin] closes the process's stdin
)

// MaxFrame bounds a frame's payload.
const MaxFrame = 1 << 20

// ExitStatus ends an exec or attach stream.
type ExitStatus struct {
	ExitCode int32  `json:"exitCode"`
	Error    string `json:"error,omitempty"` // the process could not run, or the stream broke
}

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, channel byte, p []byte) error {
	var h [5]byte
	h[0] = channel
	binary.BigEndian.PutUint32(h[1:], uint32(len(p)))
	// One write keeps frames whole when several goroutines share the connection.
	buf := make([]byte, 0, len(h)+len(p))
	_, err := w.Write(append(append(buf, h[:]...), p...))
	return err
}

// ReadFrame reads one frame; buf is reused when large enough.
func ReadFrame(r io.Reader, buf []byte) (channel byte, p []byte, err error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes: more than %d", n, MaxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	p = buf[:n]
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return h[0], p, nil
}

// WriteJSONFrame writes v as the payload of a frame.
func WriteJSONFrame(w io.Writer, channel byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteFrame(w, channel, b)
}
