package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// Exit codes of `minipod run`, documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1
	exitBadInput    = 2
	exitInterrupted = 130
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func badInput(err error) error { return &exitError{exitBadInput, err} }

func execute(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	// Flag and argument errors arrive as exitError; the one command-line error cobra
	// reports on its own is an unknown subcommand.
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitBadInput
	}
	return exitFailed
}

type globalFlags struct {
	cfg        state.Config
	subnet     string
	logMaxSize string
	reserved   map[string]string
}

func (g *globalFlags) config() (state.Config, error) {
	cfg := g.cfg
	p, err := netip.ParsePrefix(g.subnet)
	if err != nil {
		return cfg, badInput(fmt.Errorf("--subnet: %w", err))
	}
	cfg.Subnet = p.Masked()
	q, err := resource.ParseQuantity(g.logMaxSize)
	if err != nil {
		return cfg, badInput(fmt.Errorf("--container-log-max-size: %w", err))
	}
	cfg.ContainerLogMaxSize = q.Value()
	if cfg.Reserved, err = parseReserved(g.reserved); err != nil {
		return cfg, badInput(err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, badInput(err)
	}
	return cfg, nil
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{cfg: state.DefaultConfig()}
	root := &cobra.Command{
		Use:           "minipod",
		Short:         "Run Kubernetes Pods on one Linux host",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	d := state.DefaultConfig()
	f.StringVar(&g.cfg.StateDir, "state-dir", d.StateDir, "runtime state: pod records and status files, pinned namespaces")
	f.StringVar(&g.cfg.Root, "root", d.Root, "persistent data: images, container layers, emptyDirs, IP allocations")
	f.StringVar(&g.cfg.LogDir, "log-dir", d.LogDir, "container logs")
	f.StringVar(&g.cfg.Bridge, "bridge", d.Bridge, "host bridge for pod networking")
	f.StringVar(&g.subnet, "subnet", d.Subnet.String(), "pod IP range; the gateway is its first address, on the bridge")
	f.StringVar(&g.cfg.CgroupParent, "cgroup-parent", d.CgroupParent, "cgroup under which every pod gets its own")
	f.DurationVar(&g.cfg.BackoffInitial, "backoff-initial", d.BackoffInitial, "first crash-loop back-off")
	f.DurationVar(&g.cfg.BackoffMax, "backoff-max", d.BackoffMax, "crash-loop back-off cap")
	f.StringVar(&g.cfg.ResolvConf, "resolv-conf", d.ResolvConf, "resolver configuration given to pods (the kubelet's --resolv-conf; empty: resolve through 127.0.0.1)")
	f.StringVar(&g.cfg.ClusterDomain, "cluster-domain", d.ClusterDomain, "domain of the pods' subdomains, <hostname>.<subdomain>.<namespace>.svc.<domain> (the kubelet's --cluster-domain)")
	f.StringVar(&g.logMaxSize, "container-log-max-size", "10Mi", "size at which a container log is rotated (the kubelet's flag)")
	f.IntVar(&g.cfg.ContainerLogMaxFiles, "container-log-max-files", d.ContainerLogMaxFiles, "log files kept per container, the current one included (the kubelet's flag)")
	f.StringSliceVar(&g.cfg.InsecureRegistries, "insecure-registry", nil, "registry (host[:port]) that may be reached over plain HTTP; localhost and 127.0.0.1 always may")
	f.BoolVar(&g.cfg.SeccompDefault, "seccomp-default", false, "give containers that name no seccomp profile RuntimeDefault instead of Unconfined (the kubelet's flag)")
	f.StringSliceVar(&g.cfg.AllowedUnsafeSysctls, "allowed-unsafe-sysctls", nil, "unsafe sysctls or sysctl prefixes ending in * that pods may set, besides the safe ones (the kubelet's flag)")
	f.StringToStringVar(&g.reserved, "reserved", nil, "resources kept from pods, like the kubelet's --system-reserved (e.g. cpu=500m,memory=1Gi,ephemeral-storage=10Gi)")
	f.StringVar(&g.cfg.MonitorPath, "monitor-path", "", "the per-pod monitor binary (default: minipod-monitor beside minipod)")
	f.IntVar(&g.cfg.MaxPods, "max-pods", d.MaxPods, "pods that may hold resources at once; more are rejected with OutOfpods (the kubelet's flag)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })

	root.AddCommand(newRunCmd(g), newGetCmd(g), newDescribeCmd(g), newLogsCmd(g), newExecCmd(g), newAttachCmd(g), newDebugCmd(g), newWaitCmd(g), newDeleteCmd(g), newImageCmd(g), newDaemonCmd(g), newFollowRunCmd())
	return root
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return badInput(fmt.Errorf("%s: takes %d argument(s), got %d (usage: minipod %s)", cmd.Name(), n, len(args), cmd.Use))
		}
		return nil
	}
}

// parseReserved parses --reserved NAME=QUANTITY pairs.
func parseReserved(kv map[string]string) (api.ResourceList, error) {
	if len(kv) == 0 {
		return nil, nil
	}
	l := api.ResourceList{}
	for name, v := range kv {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("--reserved: %s=%s: %w", name, v, err)
		}
		l[name] = q
	}
	return l, nil
}
