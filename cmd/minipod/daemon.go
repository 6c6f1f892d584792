package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// newDaemonCmd is `minipod daemon`: it execs minipodd, the daemon binary installed beside this
// one (the API's dependencies stay out of this binary and so out of every monitor), with this
// command's configuration.
func newDaemonCmd(g *globalFlags) *cobra.Command {
	var socket, https, pki, kubeconfig, manifests, logLevel string
	cmd := &cobra.Command{
		Use:   "daemon [--socket PATH] [--https-address HOST:PORT] [--kubeconfig PATH]",
		Short: "Serve the Kubernetes API for this host's pods (kubectl works against it)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			b, err := json.Marshal(cfg)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			daemon := filepath.Join(filepath.Dir(self), "minipodd")
			if _, err := os.Stat(daemon); err != nil {
				if daemon, err = exec.LookPath("minipodd"); err != nil {
					return errors.New("daemon: minipodd not found beside minipod or in PATH")
				}
			}
			argv := []string{"minipodd", "--config=" + string(b), "--minipod=" + self,
				"--socket=" + socket, "--https-address=" + https, "--pki-dir=" + pki,
				"--kubeconfig=" + kubeconfig, "--manifest-dir=" + manifests, "--log-level=" + logLevel}
			return fmt.Errorf("daemon: exec %s: %w", daemon, syscall.Exec(daemon, argv, os.Environ()))
		},
	}
	f := cmd.Flags()
	f.StringVar(&socket, "socket", "/run/minipod/minipod.sock", "unix socket to serve the API on (root peers only); empty: none")
	f.StringVar(&https, "https-address", "127.0.0.1:6443", "address to serve the API on over HTTPS (client certificates required); empty: none")
	f.StringVar(&pki, "pki-dir", "/etc/minipod/pki", "the CA and certificates, made on first start")
	f.StringVar(&kubeconfig, "kubeconfig", "/etc/minipod/admin.kubeconfig", "admin kubeconfig written at start (0600)")
	f.StringVar(&manifests, "manifest-dir", "/etc/minipod/manifests", "static pod manifests, run as the kubelet runs static pods; empty: none")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
