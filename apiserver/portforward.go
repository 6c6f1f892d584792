package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vishvananda/netns"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/pods"
)

// pods/portforward as the kubelet serves it (pkg/kubelet/cri/streaming/portforward/httpstream.go):
// an SPDY connection whose streams come in pairs per request ID, an "error" stream and a
// "data" stream naming the port; each pair is a TCP connection to that port inside the pod.
// kubectl sends the SPDY connection through a WebSocket (subprotocol
// SPDY/3.1+portforward.k8s.io, the API server's tunneling in
// staging/src/k8s.io/apiserver/pkg/util/proxy/streamtunnel.go), or upgrades to SPDY directly;
// both are served. The connection to the port is made inside the pod's network namespace, as
// containerd's and CRI-O's PortForward do, so that a server bound to 127.0.0.1 in the pod is
// reached.

const portForwardProtocol = "portforward.k8s.io"

func (s *Server) podPortForward(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	p, _ := s.store.get(ns, name)
	if p == nil {
		writeError(w, errNotFound(podsResource, name))
		return
	}
	if p.Status.Phase != api.PodRunning && p.Status.Phase != api.PodPending {
		writeError(w, errBadRequest(fmt.Sprintf("cannot port-forward to a pod that is not running; current phase is %s", p.Status.Phase)))
		return
	}
	h := &pfHandler{s: s, pod: p, streams: map[string]*pfPair{}}
	newStream := func(st httpstream.Stream, replySent <-chan struct{}) error {
		h.add(st)
		return nil
	}
	var conn httpstream.Connection
	if isTunnelingRequest(r) {
		up := websocket.Upgrader{Subprotocols: []string{"SPDY/3.1+" + portForwardProtocol}, CheckOrigin: func(*http.Request) bool { return true }}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader answered
		}
		conn, err = spdy.NewServerConnection(&wsConn{ws: ws}, newStream)
		if err != nil {
			ws.Close()
			return
		}
	} else {
		if _, err := httpstream.Handshake(r, w, []string{portForwardProtocol}); err != nil {
			return // answered
		}
		conn = spdy.NewResponseUpgraderWithPings(0).UpgradeResponse(w, r, newStream)
		if conn == nil {
			return
		}
	}
	defer conn.Close()
	conn.SetIdleTimeout(4 * time.Hour)
	h.conn = conn
	<-conn.CloseChan()
}

func isTunnelingRequest(r *http.Request) bool {
	if !websocket.IsWebSocketUpgrade(r) {
		return false
	}
	for _, p := range websocket.Subprotocols(r) {
		if p == "SPDY/3.1+"+portForwardProtocol {
			return true
		}
	}
	return false
}

// pfPair is the two streams of one forwarded connection.
type pfPair struct {
	data, err httpstream.Stream
}

type pfHandler struct {
	s    *Server
	pod  *api.Pod
	conn httpstream.Connection

	mu      sync.Mutex
	streams map[string]*pfPair
}

// add takes one stream; once both of a request's are there, the connection is made.
func (h *pfHandler) add(st httpstream.Stream) {
	id := st.Headers().Get("requestID")
	typ := st.Headers().Get("streamType")
	h.mu.Lock()
	pair := h.streams[id]
	if pair == nil {
		pair = &pfPair{}
		h.streams[id] = pair
	}
	switch typ {
	case "data":
		pair.data = st
	case "error":
		pair.err = st
	default:
		h.mu.Unlock()
		st.Reset()
		return
	}
	complete := pair.data != nil && pair.err != nil
	if complete {
		delete(h.streams, id)
	}
	h.mu.Unlock()
	if complete {
		go h.forward(pair)
	}
}

func (h *pfHandler) forward(pair *pfPair) {
	defer pair.err.Close()
	defer pair.data.Close()
	port, err := strconv.ParseUint(pair.data.Headers().Get("port"), 10, 16)
	if err != nil || port == 0 {
		fmt.Fprintf(pair.err, "invalid port %q", pair.data.Headers().Get("port"))
		return
	}
	c, err := h.s.dialPod(h.pod, int(port))
	if err != nil {
		// containerd's message: "failed to connect to localhost:80 inside namespace ...".
		fmt.Fprintf(pair.err, "error forwarding port %d to pod %s, uid : %v", port, h.pod.Metadata.UID, err)
		return
	}
	defer c.Close()
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c, pair.data)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(pair.data, c)
		done <- struct{}{}
	}()
	<-done
	<-done
}

// dialPod connects to localhost:port inside the pod's network namespace. The socket is made
// on a thread that entered the namespace (locked, so no other goroutine runs there); a
// connected socket stays in its namespace wherever it is used.
func (s *Server) dialPod(p *api.Pod, port int) (net.Conn, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if p.Spec.HostNetwork {
		return net.DialTimeout("tcp", addr, 10*time.Second)
	}
	path, err := pods.NetNSPath(s.cfg, p.Metadata.Namespace, p.Metadata.Name, p.Metadata.UID)
	if err != nil {
		return nil, err
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("pod network namespace: %w", err)
	}
	defer target.Close()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{nil, err}
			runtime.UnlockOSThread()
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			ch <- result{nil, fmt.Errorf("enter pod network namespace: %w", err)}
			runtime.UnlockOSThread()
			return
		}
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		ch <- result{c, err}
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		} // else the thread, stuck in the pod's namespace, ends with this goroutine
	}()
	res := <-ch
	if res.err != nil {
		return nil, res.err
	}
	return res.c, nil
}

// wsConn is a WebSocket as a byte stream: binary messages in both directions (client-go's
// tools/portforward TunnelingConnection is the other end).
type wsConn struct {
	ws   *websocket.Conn
	rmu  sync.Mutex
	r    io.Reader
	wmu  sync.Mutex
	once sync.Once
}

func (c *wsConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				continue
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error {
	var err error
	c.once.Do(func() {
		c.wmu.Lock()
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.wmu.Unlock()
		err = c.ws.Close()
	})
	return err
}

func (c *wsConn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }
func (c *wsConn) SetDeadline(t time.Time) error {
	return errors.Join(c.ws.SetReadDeadline(t), c.ws.SetWriteDeadline(t))
}
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
