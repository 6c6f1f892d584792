package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/crilog"
	"github.com/minipod/minipod/kubeprint"
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
	now := time.Now()
	for _, p := range pods {
		if withNamespace {
			fmt.Fprintf(w, "%s\t", p.Metadata.Namespace)
		}
		r := kubeprint.Pod(p, now)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Ready, r.Status, r.Restarts, r.Age, r.IP)
	}
	w.Flush()
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
			if err := pods.Delete(cfg, namespace, args[1], gp, true); err != nil {
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
				statuses := append(append([]api.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
				for _, cs := range statuses {
					if container == "" && len(statuses) > 1 {
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
