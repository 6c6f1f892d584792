package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func newGetCmd(g *globalFlags) *cobra.Command {
	var namespace, output string
	var allNamespaces bool
	cmd := &cobra.Command{
		Use:   "get pods",
		Short: "List pods with their phase (like kubectl get pods)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.podCommand("get", args[0])
			if err != nil {
				return err
			}
			all, err := pods.List(cfg)
			if err != nil {
				return err
			}
			var shown []*api.Pod
			for _, p := range all {
				if allNamespaces || p.Metadata.Namespace == namespace {
					shown = append(shown, p)
				}
			}
			switch output {
			case "json":
				list := struct {
					APIVersion string     `json:"apiVersion"`
					Kind       string     `json:"kind"`
					Items      []*api.Pod `json:"items"`
				}{"v1", "List", shown}
				if list.Items == nil {
					list.Items = []*api.Pod{}
				}
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			case "", "wide":
				printPods(shown, allNamespaces)
				return nil
			}
			return badInput(fmt.Errorf("-o: unsupported output format %q (json, wide)", output))
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list pods of every namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json or wide")
	return cmd
}

func printPods(pods []*api.Pod, withNamespace bool) {
	if len(pods) == 0 {
		fmt.Fprintln(os.Stderr, "No resources found")
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
	if withNamespace {
		fmt.Fprint(w, "NAMESPACE\t")
	}
	fmt.Fprintln(w, "NAME\tREADY\tSTATUS\tRESTARTS\tAGE\tIP")
	for _, p := range pods {
		ready, restarts := 0, int32(0)
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Ready {
				ready++
			}
			restarts += cs.RestartCount
		}
		age := "<unknown>"
		if t := p.Metadata.CreationTimestamp; t != nil {
			age = shortDuration(time.Since(t.Time))
		}
		ip := p.Status.PodIP
		if ip == "" {
			ip = "<none>"
		}
		if withNamespace {
			fmt.Fprintf(w, "%s\t", p.Metadata.Namespace)
		}
		fmt.Fprintf(w, "%s\t%d/%d\t%s\t%d\t%s\t%s\n", p.Metadata.Name, ready, len(p.Spec.Containers), podStatusReason(p), restarts, age, ip)
	}
	w.Flush()
}

// podStatusReason is the STATUS column of kubectl get pods (kubectl's printPod, simplified
// to regular containers): the phase, overridden by the most telling container reason.
func podStatusReason(p *api.Pod) string {
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		s := p.Status.ContainerStatuses[i].State
		switch {
		case s.Waiting != nil && s.Waiting.Reason != "":
			reason = s.Waiting.Reason
		case s.Terminated != nil && s.Terminated.Reason != "":
			reason = s.Terminated.Reason
		case s.Terminated != nil && s.Terminated.Signal != 0:
			reason = "Signal:" + strconv.Itoa(int(s.Terminated.Signal))
		case s.Terminated != nil:
			reason = "ExitCode:" + strconv.Itoa(int(s.Terminated.ExitCode))
		}
	}
	if reason == "Completed" && p.Status.Phase == api.PodRunning {
		reason = "Running"
	}
	if p.Metadata.DeletionTimestamp != nil && p.Status.Phase != api.PodSucceeded && p.Status.Phase != api.PodFailed {
		reason = "Terminating"
	}
	return reason
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func newDeleteCmd(g *globalFlags) *cobra.Command {
	var namespace string
	var grace int64
	cmd := &cobra.Command{
		Use:   "delete pod NAME",
		Short: "Stop a pod gracefully and remove it (also one whose monitor died)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.podCommand("delete", args[0])
			if err != nil {
				return err
			}
			var gp *int64
			if cmd.Flags().Changed("grace-period") {
				if grace < 0 {
					return badInput(fmt.Errorf("--grace-period: must not be negative"))
				}
				gp = &grace
			}
			if err := pods.Delete(cfg, namespace, args[1], gp); err != nil {
				if errors.Is(err, pods.ErrPodNotFound) {
					return &exitError{exitFailed, err}
				}
				return err
			}
			fmt.Printf("pod %q deleted\n", args[1])
			return nil
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	cmd.Flags().Int64Var(&grace, "grace-period", 0, "seconds to wait for the containers to stop before SIGKILL (default: the pod's terminationGracePeriodSeconds)")
	return cmd
}

func newLogsCmd(g *globalFlags) *cobra.Command {
	var namespace, container string
	var previous bool
	cmd := &cobra.Command{
		Use:   "logs POD",
		Short: "Print a container's output (the current instance, or --previous)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			all, err := pods.List(cfg)
			if err != nil {
				return err
			}
			for _, p := range all {
				if p.Metadata.Namespace != namespace || p.Metadata.Name != args[0] {
					continue
				}
				for _, cs := range p.Status.ContainerStatuses {
					if container == "" && len(p.Status.ContainerStatuses) > 1 {
						return badInput(fmt.Errorf("-c: pod %s has several containers; name one", args[0]))
					}
					if container != "" && cs.Name != container {
						continue
					}
					n := cs.RestartCount
					if previous {
						n--
					}
					return printLog(pods.LogFile(cfg, p, cs.Name, n))
				}
				return &exitError{exitFailed, fmt.Errorf("container %q not found in pod %s", container, args[0])}
			}
			return &exitError{exitFailed, fmt.Errorf("pod %s/%s: %w", namespace, args[0], pods.ErrPodNotFound)}
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	cmd.Flags().StringVarP(&container, "container", "c", "", "container name")
	cmd.Flags().BoolVarP(&previous, "previous", "p", false, "the previous instance of the container")
	return cmd
}

func printLog(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		r, err := crilog.Parse(line)
		if err != nil {
			continue
		}
		os.Stdout.Write(r.Content)
		if !r.Partial {
			os.Stdout.Write([]byte{'\n'})
		}
	}
	return nil
}

// podCommand checks the resource word of "get pods" / "delete pod" and the global flags.
func (g *globalFlags) podCommand(verb, resource string) (state.Config, error) {
	switch resource {
	case "pod", "pods", "po":
		return g.config()
	}
	return state.Config{}, badInput(fmt.Errorf("%s: unknown resource type %q (supported: pods)", verb, resource))
}
