package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/state"
)

// debugOptions are kubectl debug's flags for its ephemeral-container mode.
type debugOptions struct {
	namespace, image, container, target string
	pullPolicy, profile                 string
	interactive, tty, attach            bool
	argsOnly, quiet                     bool
	env                                 map[string]string
}

func newDebugCmd(g *globalFlags) *cobra.Command {
	var o debugOptions
	cmd := &cobra.Command{
		Use:   "debug POD --image=IMAGE [-i] [-t] [--target=CONTAINER] [-c NAME] [-- COMMAND [ARG...]]",
		Short: "Add an ephemeral debugging container to a running pod (like kubectl debug)",
		Long: `Add an ephemeral container to a running pod, as kubectl debug does with a pod: it shares
the pod's network, IPC and UTS namespaces and volumes, and with --target the process
namespace of one of its containers (ps there shows that container's processes). It runs once,
is never restarted, does not count for the pod's phase or readiness, and stops with the pod.
-i keeps its stdin open and attaches to it once it runs (--attach=false only adds it); -t
gives it a terminal. Without -c it is named debugger-xxxxx. --profile sets its security
context as kubectl's profiles do (general, the default, adds CAP_SYS_PTRACE).`,
		Example: `  minipod debug web -it --image=busybox --target=app
  minipod debug web --image=busybox -c probe -- wget -qO- http://127.0.0.1:8080/`,
		Args: func(cmd *cobra.Command, args []string) error {
			names := args
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				names = args[:dash]
			}
			switch {
			case len(names) == 0:
				return badInput(errors.New("NAME is required for debug (usage: minipod debug POD --image=IMAGE [-- COMMAND])"))
			case len(names) > 1:
				return badInput(fmt.Errorf("debug: takes one pod before --, got %d arguments", len(names)))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				command = args[dash:]
			}
			if !cmd.Flags().Changed("attach") && o.interactive {
				o.attach = true
			}
			if err := o.validate(cmd.Flags().Changed("attach")); err != nil {
				return badInput(err)
			}
			name, err := parsePodArg("debug", args[0])
			if err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(o.namespace)
			if err != nil {
				return err
			}
			return reportKubectlErrors(runDebug(cfg, ns, name, o, command))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace")
	f.StringVar(&o.image, "image", "", "image of the debugging container")
	f.StringVarP(&o.container, "container", "c", "", "name of the debugging container (default: debugger-xxxxx)")
	f.StringVar(&o.target, "target", "", "share the process namespace of this container of the pod")
	f.BoolVarP(&o.interactive, "stdin", "i", false, "keep the container's stdin open, and attach to it (unless --attach=false)")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the container a terminal (needs -i)")
	f.BoolVar(&o.attach, "attach", false, "wait for the container to run, then attach to it (the default with -i)")
	f.BoolVar(&o.argsOnly, "arguments-only", false, "what follows -- is the container's args, not its command")
	f.StringToStringVar(&o.env, "env", nil, "environment variables of the container: NAME=VALUE,...")
	f.StringVar(&o.pullPolicy, "image-pull-policy", "", "imagePullPolicy of the container (default: the API server's)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print no informational messages")
	f.StringVar(&o.profile, "profile", profileGeneral, `security profile: "legacy", "general", "baseline", "restricted", "netadmin" or "sysadmin"`)
	cmd.RegisterFlagCompletionFunc("target", completeContainerFlag(g))
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	cmd.RegisterFlagCompletionFunc("profile", cobra.FixedCompletions(profiles, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validate is kubectl debug's Complete and Validate for an ephemeral container, with its
// messages (k8s.io/kubectl pkg/cmd/debug/debug.go).
func (o *debugOptions) validate(attachChanged bool) error {
	if !slices.Contains(profiles, o.profile) {
		return fmt.Errorf("unknown profile: %s", o.profile)
	}
	if o.attach && attachChanged && o.image == "" && o.container == "" {
		return errors.New("you must specify --container or create a new container using --image in order to attach.")
	}
	if o.image == "" {
		return errors.New("you must specify --image when not using --copy-to.")
	}
	if err := validDebugImage(o.image); err != nil {
		return err
	}
	switch api.PullPolicy(o.pullPolicy) {
	case api.PullAlways, api.PullIfNotPresent, api.PullNever, "":
	default:
		return fmt.Errorf("invalid image pull policy: %s", o.pullPolicy)
	}
	if o.tty && !o.interactive {
		return errors.New("-i/--stdin is required for containers with -t/--tty=true")
	}
	return nil
}

// validDebugImage checks an image reference as kubectl does (a Docker reference); minipod's
// local transports are checked when the image is looked up.
func validDebugImage(ref string) error {
	for _, p := range []string{"rootfs:", "oci:", "oci-archive:", "docker-archive:"} {
		if strings.HasPrefix(ref, p) {
			return nil
		}
	}
	if _, err := name.ParseReference(ref); err != nil {
		return fmt.Errorf("invalid image name %q: invalid reference format", ref)
	}
	return nil
}

// runDebug adds the debugging container to the pod through its monitor and, with --attach,
// attaches to it once it runs (kubectl's debugByEphemeralContainer and handleAttachPod).
func runDebug(cfg state.Config, ns, podName string, o debugOptions, command []string) error {
	if o.target != "" && !o.quiet {
		fmt.Printf("Targeting container %q. If you don't see processes from this container it may be because the container runtime doesn't support this feature.\n", o.target)
	}
	if o.profile == profileLegacy {
		fmt.Fprintln(os.Stderr, `--profile=legacy is deprecated and planned to be removed in v1.39. It is recommended to specify other profile, for example "--profile=general".`)
	}
	p, err := readPod(cfg, ns, podName)
	if err != nil {
		if isNotFound(err) {
			return err
		}
		return fmt.Errorf("debug pod/%s: %w", podName, err)
	}
	cname := o.container
	if cname == "" {
		cname = debugContainerName(p)
		if !o.quiet {
			fmt.Printf("Defaulting debug container name to %s.\n", cname)
		}
	}
	ec := debugContainer(o, cname, command)
	raw, err := json.Marshal(ec)
	if err != nil {
		return fmt.Errorf("debug pod/%s: %w", podName, err)
	}
	dir := podDir(cfg, ns, podName)
	ctx, cancel := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer cancel()
	if _, err := monitorapi.NewClient(dir).AddEphemeralContainer(ctx, raw); err != nil {
		var e *monitorapi.Error
		if errors.As(err, &e) && e.Kind == monitorapi.Invalid {
			fmt.Fprint(os.Stderr, invalidPodMessage(podName, e))
			return &exitError{exitFailed, nil}
		}
		return streamError("debug", podName, cname, dir, err)
	}
	if !o.attach {
		return nil
	}
	cs, err := waitDebugContainer(ctx, dir, cname, o.quiet)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{exitInterrupted, nil}
		}
		return fmt.Errorf("debug pod/%s: %w", podName, err)
	}
	cancel()
	logs := func() error {
		return runLogs(cfg, ns, podName, logsOptions{container: cname, tail: -1}, time.Time{})
	}
	if cs.State.Terminated != nil {
		return logs()
	}
	so := streamOptions{namespace: ns, container: cname, stdin: o.interactive, tty: o.tty, quiet: o.quiet}
	if err := runStream(cfg, monitorapi.OpAttach, ns, podName, so, nil); err != nil {
		if errors.As(err, new(*exitError)) {
			return err // the process's exit code, or an interrupt
		}
		fmt.Fprintf(os.Stderr, "warning: couldn't attach to pod/%s, falling back to streaming logs: %v\n", podName, err)
		return logs()
	}
	if !o.quiet && o.interactive && o.tty && isTerminal(os.Stdin) && p.Spec.RestartPolicy == api.RestartPolicyAlways {
		nsFlag := ""
		if ns != api.DefaultNamespace {
			nsFlag = " -n " + ns
		}
		fmt.Printf("Session ended, resume using 'minipod attach %s%s -c %s -i -t' command when the pod is running\n", podName, nsFlag, cname)
	}
	return nil
}

// waitDebugContainer waits until the container runs or has ended, as kubectl's
// waitForContainer, printing each new message of a waiting state as a warning; an error if
// the pod's monitor ends first.
func waitDebugContainer(ctx context.Context, dir, cname string, quiet bool) (*api.ContainerStatus, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var found *api.ContainerStatus
	last := ""
	st, err := followPod(ctx, dir, func(p *api.Pod) {
		cs := containerStatus(p, cname)
		switch {
		case found != nil || cs == nil:
		case cs.State.Running != nil || cs.State.Terminated != nil:
			c := *cs
			found = &c
			cancel()
		case cs.State.Waiting != nil && cs.State.Waiting.Message != "" && cs.State.Waiting.Message != last:
			last = cs.State.Waiting.Message
			if !quiet {
				fmt.Fprintf(os.Stderr, "Warning: container %s: %s\n", cname, last)
			}
		}
	}, nil)
	if found != nil {
		return found, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("the pod ended before container %s ran (%s)", cname, st)
}

// debugContainerName is computeDebugContainerName: debugger-<5 random characters>, unique
// among the pod's containers.
func debugContainerName(p *api.Pod) string {
	used := map[string]bool{}
	for _, c := range append(append([]api.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		used[c.Name] = true
	}
	for _, c := range p.Spec.EphemeralContainers {
		used[c.Name] = true
	}
	for {
		if n := "debugger-" + randomSuffix(5); !used[n] {
			return n
		}
	}
}

// randomSuffix is utilrand.String: letters and digits that make no words.
func randomSuffix(n int) string {
	const alphanums = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphanums[rand.IntN(len(alphanums))]
	}
	return string(b)
}

// debugContainer is generateDebugContainer: the EphemeralContainer kubectl debug sends, with
// the profile applied.
func debugContainer(o debugOptions, cname string, command []string) *api.EphemeralContainer {
	ec := &api.EphemeralContainer{
		Container: api.Container{
			Name:                     cname,
			Image:                    o.image,
			ImagePullPolicy:          api.PullPolicy(o.pullPolicy),
			Stdin:                    o.interactive,
			TTY:                      o.tty,
			TerminationMessagePolicy: api.TerminationMessageReadFile,
		},
		TargetContainerName: o.target,
	}
	if o.argsOnly {
		ec.Args = command
	} else {
		ec.Command = command
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range o.env {
			if !yield(k) {
				return
			}
		}
	}) {
		ec.Env = append(ec.Env, api.EnvVar{Name: k, Value: o.env[k]})
	}
	applyProfile(o.profile, &ec.Container)
	return ec
}

// kubectl debug's profiles (k8s.io/kubectl pkg/cmd/debug/profiles.go).
const (
	profileLegacy     = "legacy"
	profileGeneral    = "general"
	profileBaseline   = "baseline"
	profileRestricted = "restricted"
	profileNetadmin   = "netadmin"
	profileSysadmin   = "sysadmin"
)

var profiles = []string{profileLegacy, profileGeneral, profileBaseline, profileRestricted, profileNetadmin, profileSysadmin}

// applyProfile sets what a profile sets on an ephemeral debugging container. The profiles
// also remove the pod's labels, to take it out of its controllers' and Services' reach; a
// minipod pod has neither, so its labels stay.
func applyProfile(profile string, c *api.Container) {
	sc := func() *api.SecurityContext {
		if c.SecurityContext == nil {
			c.SecurityContext = &api.SecurityContext{}
		}
		return c.SecurityContext
	}
	addCap := func(caps ...api.Capability) {
		s := sc()
		if s.Capabilities == nil {
			s.Capabilities = &api.Capabilities{}
		}
		s.Capabilities.Add = append(s.Capabilities.Add, caps...)
	}
	yes, no := true, false
	switch profile {
	case profileGeneral:
		addCap("SYS_PTRACE") // allowProcessTracing
	case profileBaseline:
		c.SecurityContext = nil // clearSecurityContext
	case profileRestricted:
		c.SecurityContext = nil
		s := sc()
		s.RunAsNonRoot = &yes
		s.Capabilities = &api.Capabilities{Drop: []api.Capability{"ALL"}}
		s.AllowPrivilegeEscalation = &no
		s.SeccompProfile = &api.SeccompProfile{Type: api.SeccompProfileTypeRuntimeDefault}
	case profileNetadmin:
		addCap("NET_ADMIN", "NET_RAW")
	case profileSysadmin:
		sc().Privileged = &yes
	}
}

// invalidPodMessage is how kubectl prints an Invalid error from the API server
// (cmdutil.CheckErr with MultilineError): one cause on the line, several as a list.
func invalidPodMessage(pod string, e *monitorapi.Error) string {
	prefix := fmt.Sprintf("The Pod %q is invalid: ", pod)
	cause := func(c monitorapi.Cause) string {
		if c.Field == "" {
			return c.Message
		}
		return c.Field + ": " + c.Message
	}
	switch len(e.Causes) {
	case 0:
		return e.Message + "\n"
	case 1:
		return prefix + cause(e.Causes[0]) + "\n"
	}
	var b strings.Builder
	b.WriteString(prefix + "\n")
	for _, c := range e.Causes {
		b.WriteString("* " + cause(c) + "\n")
	}
	return b.String()
}
