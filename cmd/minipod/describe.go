package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/kubeprint"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

func newDescribeCmd(g *globalFlags) *cobra.Command {
	var namespace string
	cmd := &cobra.Command{
		Use:   "describe (pod NAME... | pod/NAME... | pods) [-n NS]",
		Short: "Show a pod in detail, with its events (like kubectl describe pod)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("describe: you must specify the type of resource to describe (pods)"))
			}
			return nil
		},
		ValidArgsFunction: completePodArgs(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			ra, err := parseResourceArgs("describe", args, kindPods)
			if err != nil {
				return err
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			ns, err := namespaceFlag(namespace)
			if err != nil {
				return err
			}
			names := ra.names
			if len(names) == 0 {
				list, err := pods.List(cfg)
				if err != nil {
					return &exitError{exitFailed, fmt.Errorf("describe pods: %w", err)}
				}
				for _, p := range list {
					if p.Metadata.Namespace == ns {
						names = append(names, p.Metadata.Name)
					}
				}
				if len(names) == 0 {
					fmt.Fprintf(os.Stderr, "No resources found in %s namespace.\n", ns)
					return nil
				}
			}
			var errs []error
			first := true
			node := nodeName()
			for _, n := range names {
				out, err := describePod(cfg, ns, n, node)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if !first {
					os.Stdout.WriteString("\n\n")
				}
				first = false
				os.Stdout.Write(out)
			}
			return reportKubectlErrors(errs...)
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace")
	cmd.RegisterFlagCompletionFunc("namespace", completeNamespaces(g))
	return cmd
}

// describePod renders one pod with its events.
func describePod(cfg state.Config, ns, name, node string) ([]byte, error) {
	p, err := readPod(cfg, ns, name)
	if err != nil {
		if isNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("describe pod/%s: %w", name, err)
	}
	dir := podDir(cfg, ns, name)
	events, err := readEvents(dir)
	if err != nil {
		return nil, fmt.Errorf("describe pod/%s: events: %w", name, err)
	}
	opts := kubeprint.DescribeOptions{Node: node, Now: time.Now(), Location: time.Local}
	opts.GracePeriodSeconds = p.Metadata.DeletionGracePeriodSeconds
	var buf bytes.Buffer
	if err := kubeprint.Describe(&buf, asPod(p), events, opts); err != nil {
		return nil, fmt.Errorf("describe pod/%s: %w", name, err)
	}
	return buf.Bytes(), nil
}
