// Command minipodd is minipod's daemon: the Kubernetes core/v1 API for the pods of this host
// (package apiserver), on a unix socket and on HTTPS. It is a binary of its own because the
// API's types and serializers would add memory to every process of the minipod binary (each
// pod's monitor and each foreground `minipod run`); `minipod daemon` execs it with minipod's
// configuration. It runs in the foreground and logs with slog to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"

	"github.com/minipod/minipod/apiserver"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
	"github.com/minipod/minipod/staticpod"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "minipodd:", err)
		os.Exit(1)
	}
}

type options struct {
	config     string
	socket     string
	https      string
	pki        string
	kubeconfig string
	minipod    string
	manifests  string
	logLevel   string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("minipodd", flag.ContinueOnError)
	fs.StringVar(&o.config, "config", "", "minipod's configuration as JSON (what `minipod daemon` passes: its global flags); default: minipod's defaults")
	fs.StringVar(&o.socket, "socket", "/run/minipod/minipod.sock", "unix socket to serve the API on (0600, root peers only); empty: none")
	fs.StringVar(&o.https, "https-address", "127.0.0.1:6443", "address to serve the API on over HTTPS (client certificates required); empty: none")
	fs.StringVar(&o.pki, "pki-dir", "/etc/minipod/pki", "the CA and certificates, made on first start")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "/etc/minipod/admin.kubeconfig", "admin kubeconfig written at start (0600); empty: none")
	fs.StringVar(&o.minipod, "minipod", "", "the minipod CLI binary, which pods' monitors run as their image helper (default: minipod beside this binary); the monitor binary is the configuration's monitorPath (minipod's --monitor-path)")
	fs.StringVar(&o.manifests, "manifest-dir", "/etc/minipod/manifests", "directory of static pod manifests, run as the kubelet runs static pods; empty: none")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	// The streaming libraries log through klog: into slog, at debug level.
	klog.SetSlogLogger(slog.New(debugOnly{log.Handler()}))

	cfg := state.DefaultConfig()
	if o.config != "" {
		if err := json.Unmarshal([]byte(o.config), &cfg); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	if o.socket == "" && o.https == "" {
		return errors.New("--socket, --https-address: at least one is needed")
	}
	if err := setCLIPath(o.minipod); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer stop()
	node, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("node name: %w", err)
	}
	node = strings.ToLower(node) // as the kubelet's node name
	srv, err := apiserver.New(ctx, apiserver.Options{Config: cfg, Log: log, Node: node})
	if err != nil {
		return err
	}
	if o.manifests != "" {
		if !filepath.IsAbs(o.manifests) {
			return fmt.Errorf("--manifest-dir: must be an absolute path, got %q", o.manifests)
		}
		m := &staticpod.Manager{Cfg: cfg, Dir: o.manifests, Node: node, Log: log.With("manifest-dir", o.manifests)}
		go m.Run(ctx)
	}
	errc := make(chan error, 2)
	n := 0
	if o.socket != "" {
		l, err := listenUnix(o.socket)
		if err != nil {
			return err
		}
		defer os.Remove(o.socket)
		log.Info("serving", "socket", o.socket)
		n++
		go func() { errc <- srv.ServeUnix(ctx, l) }()
	}
	if o.https != "" {
		pki, err := apiserver.EnsurePKI(o.pki)
		if err != nil {
			return fmt.Errorf("--pki-dir: %w", err)
		}
		host, _, err := net.SplitHostPort(o.https)
		if err != nil {
			return fmt.Errorf("--https-address: %w", err)
		}
		tc, err := pki.ServingConfig(host)
		if err != nil {
			return err
		}
		l, err := listenTCP(ctx, log, o.https)
		if err != nil {
			return fmt.Errorf("--https-address: %w", err)
		}
		addr := l.Addr().(*net.TCPAddr)
		server := "https://" + net.JoinHostPort(serverHost(addr.IP), fmt.Sprint(addr.Port))
		if o.kubeconfig != "" {
			if err := pki.WriteAdminKubeconfig(o.kubeconfig, server); err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
		}
		log.Info("serving", "https", server, "kubeconfig", o.kubeconfig)
		n++
		go func() { errc <- srv.ServeTLS(ctx, l, tc) }()
	}
	log.Info("minipodd up", "pid", os.Getpid(), "state-dir", cfg.StateDir)
	for range n {
		if err := <-errc; err != nil {
			stop()
			return err
		}
	}
	log.Info("minipodd stopped")
	return nil
}

// debugOnly passes records on at debug level: klog's "errors" from the streaming libraries
// are a client hanging up.
type debugOnly struct{ slog.Handler }

func (d debugOnly) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.Handler.Enabled(ctx, slog.LevelDebug)
}

func (d debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.Handler.Handle(ctx, r)
}

// listenTCP listens on addr, trying again for a few seconds while the address is in use: a
// daemon restarted at once after being killed can find its port still held by a child it was
// forking when it died (the child has the listener until it execs), and by anything else that
// bound the port meanwhile; a port held for longer is an error.
func listenTCP(ctx context.Context, log *slog.Logger, addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, unix.EADDRINUSE) || time.Now().After(deadline) {
			return l, err
		}
		log.Warn("address in use, trying again", "address", addr)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// serverHost is the host a kubeconfig names for a listener's address.
func serverHost(ip net.IP) string {
	if ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip.String()
}

// listenUnix listens on a socket only root may connect to: the socket is made 0600 before it
// accepts (the umask covers the moment between bind and chmod).
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	old := unix.Umask(0o177)
	l, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("--socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// setCLIPath names the minipod CLI to the monitors of the pods this daemon creates.
func setCLIPath(path string) error {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		path = filepath.Join(filepath.Dir(self), "minipod")
	}
	if !filepath.IsAbs(path) || strings.TrimSpace(path) == "" {
		return fmt.Errorf("--minipod: must be an absolute path, got %q", path)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--minipod: %w", err)
	}
	pods.CLIPath = path
	return nil
}
