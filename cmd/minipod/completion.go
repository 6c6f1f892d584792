package main

// Shell completion. Cobra provides the `completion` command (bash, zsh, fish, powershell)
// and the hidden __complete that its scripts call; these functions give it pod, container
// and namespace names, read from the state directory (--state-dir on the command line being
// completed is honoured).

import (
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

const noFiles = cobra.ShellCompDirectiveNoFileComp

// completionConfig is the configuration of the command line being completed, checked or not:
// a half-typed flag must not stop completion.
func (g *globalFlags) completionConfig() state.Config {
	if cfg, err := g.config(); err == nil {
		return cfg
	}
	return g.cfg
}

// completionNamespace is the -n of the command being completed.
func completionNamespace(cmd *cobra.Command) string {
	if ns, err := cmd.Flags().GetString("namespace"); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// podNames lists the names of the pods of a namespace (every namespace if ns is empty),
// sorted, from the pod directories' names alone.
func podNames(cfg state.Config, ns string) []string {
	ents, _ := os.ReadDir(cfg.PodsDir())
	var names []string
	for _, e := range ents {
		if pns, name, ok := state.ParsePodKey(e.Name()); ok && (ns == "" || pns == ns) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// completePodNames offers the pods of the namespace whose names start with toComplete,
// leaving out those already on the command line; with the "pod/" form, in that form.
func completePodNames(g *globalFlags, cmd *cobra.Command, args []string, toComplete string) []string {
	prefix := ""
	if word, rest, ok := strings.Cut(toComplete, "/"); ok {
		if k, ok := parseKind(word); !ok || k != kindPods {
			return nil
		}
		prefix, toComplete = word+"/", rest
	}
	ns := completionNamespace(cmd)
	if all, _ := cmd.Flags().GetBool("all-namespaces"); all {
		ns = ""
	}
	var out []string
	for _, n := range podNames(g.completionConfig(), ns) {
		if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) && !slices.Contains(args, prefix+n) {
			out = append(out, prefix+n)
		}
	}
	return out
}

// completePodArgs completes the arguments of a command taking pods: with typed, the kubectl
// forms "pod NAME..." and "pod/NAME..."; otherwise one pod name.
func completePodArgs(g *globalFlags, typed bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !typed {
			if len(args) > 0 {
				return nil, noFiles
			}
			return completePodNames(g, cmd, nil, toComplete), noFiles
		}
		if len(args) == 0 {
			if strings.Contains(toComplete, "/") {
				return completePodNames(g, cmd, nil, toComplete), noFiles
			}
			return []string{"pods", "pod/"}, noFiles | cobra.ShellCompDirectiveNoSpace
		}
		if strings.Contains(args[0], "/") {
			return completePodNames(g, cmd, args, "pod/"+strings.TrimPrefix(toComplete, "pod/")), noFiles
		}
		if k, ok := parseKind(args[0]); ok && k == kindPods {
			return completePodNames(g, cmd, args[1:], toComplete), noFiles
		}
		return nil, noFiles
	}
}

// completeGetArgs completes get: a resource type, then pod names.
func completeGetArgs(g *globalFlags) cobra.CompletionFunc {
	pods := completePodArgs(g, true)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 && !strings.Contains(toComplete, "/") {
			return []string{"pods", "events", "configmaps", "secrets", "volumes", "pod/"}, noFiles
		}
		return pods(cmd, args, toComplete)
	}
}

// completeLogsArgs completes logs: a pod, then one of its containers.
func completeLogsArgs(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return completePodNames(g, cmd, nil, toComplete), noFiles
		case 1:
			return containerNames(g, cmd, args[0], toComplete), noFiles
		}
		return nil, noFiles
	}
}

// completeContainerFlag completes -c with the containers of the pod on the command line.
func completeContainerFlag(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, noFiles
		}
		return containerNames(g, cmd, args[0], toComplete), noFiles
	}
}

// containerNames lists the containers of a pod named NAME or pod/NAME, init containers too.
func containerNames(g *globalFlags, cmd *cobra.Command, podArg, toComplete string) []string {
	name := podArg
	if _, n, ok := strings.Cut(podArg, "/"); ok {
		name = n
	}
	if validPodName(name) != nil {
		return nil
	}
	cfg := g.completionConfig()
	rec, err := state.ReadRecord(cfg.PodDir(completionNamespace(cmd), name))
	if err != nil {
		return nil
	}
	var out []string
	all := append(append([]api.Container{}, rec.Pod.Spec.Containers...), rec.Pod.Spec.InitContainers...)
	for _, ec := range rec.Pod.Spec.EphemeralContainers {
		all = append(all, ec.Container)
	}
	for _, c := range all {
		if strings.HasPrefix(c.Name, toComplete) {
			out = append(out, c.Name)
		}
	}
	return out
}

// completeNamespaces completes -n with the namespaces that have pods.
func completeNamespaces(g *globalFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ents, _ := os.ReadDir(g.completionConfig().PodsDir())
		var out []string
		for _, e := range ents {
			if ns, _, ok := state.ParsePodKey(e.Name()); ok && strings.HasPrefix(ns, toComplete) && !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
		sort.Strings(out)
		return out, noFiles
	}
}
