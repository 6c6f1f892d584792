package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/image/imageinfo"
)

// newImageGetForMonitorCmd is the image helper of the pod monitor (package imageinfo
// describes the protocol): the monitor does not link the registry client, so it runs this
// for every image but rootfs: ones, with the pod's --root and --insecure-registry flags. It
// gets REF per --policy, as the kubelet's image manager does before a container starts, and
// writes progress and the result as JSON lines on stdout. It exits 0 whatever the outcome,
// which is in the last line; the monitor kills it when the pod stops.
func newImageGetForMonitorCmd(f *imageFlags) *cobra.Command {
	var policy string
	var keyringStdin bool
	cmd := &cobra.Command{
		Use:    "get-for-monitor REF",
		Short:  "Get an image for a pod's monitor (started by minipod-monitor)",
		Hidden: true,
		Args:   imageArgs(1, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			var mu sync.Mutex
			enc := json.NewEncoder(os.Stdout)
			emit := func(l imageinfo.HelperLine) {
				mu.Lock()
				defer mu.Unlock()
				enc.Encode(&l)
			}
			s, _, err := f.store()
			if err != nil {
				emit(imageinfo.HelperLine{Error: imageinfo.NewHelperError(ref, err)})
				return nil
			}
			ctx, cancel := interruptible()
			defer cancel()
			opts := image.PullOptions{Progress: func(p image.Progress) {
				emit(imageinfo.HelperLine{Progress: &p})
			}}
			if keyringStdin {
				// The pod's pull secrets, as the monitor made them (monitor/pullsecrets.go).
				opts.Keyring = &image.Keyring{}
				if err := json.NewDecoder(io.LimitReader(os.Stdin, 4<<20)).Decode(opts.Keyring); err != nil {
					emit(imageinfo.HelperLine{Error: imageinfo.NewHelperError(ref, fmt.Errorf("read the pull secrets' keyring: %w", err))})
					return nil
				}
			}
			img, err := s.Get(ctx, ref, image.PullPolicy(policy), opts)
			if err != nil {
				emit(imageinfo.HelperLine{Error: imageinfo.NewHelperError(ref, err)})
				return nil
			}
			emit(imageinfo.HelperLine{Image: img, Size: s.Size(img)})
			return nil
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "", "imagePullPolicy: Always, IfNotPresent or Never")
	cmd.Flags().BoolVar(&keyringStdin, "keyring-stdin", false, "read the pod's pull secrets' keyring (JSON) from standard input")
	return cmd
}
