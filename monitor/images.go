package monitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	image "github.com/minipod/minipod/image/imageinfo"
)

// cliName is minipod's CLI binary, the image helper: named by $MINIPOD_CLI (set by the
// minipod that started the monitor, pods.CLIEnv), else installed beside the monitor.
const cliName = "minipod"

func cliPath() (string, error) {
	if p := os.Getenv("MINIPOD_CLI"); p != "" {
		return p, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), cliName), nil
}

// images gets the images of the pod's containers as the image store does (image.Store.Get),
// without linking the registry client into the monitor: rootfs: references are resolved
// here, everything else by a short-lived helper process (`minipod image get-for-monitor`,
// see package imageinfo), started per Get. Concurrent Gets of one reference with one policy
// share a helper (only the first caller sees its progress), as concurrent pulls share the
// work in the store.
type images struct {
	root     string // the image store
	insecure []string

	mu    sync.Mutex
	calls map[string]*imageCall // in flight, by policy and reference
	sizes sync.Map              // image ID -> its unpacked size, from the helper: bounded by the pod's images, however often they are got
}

type imageCall struct {
	done chan struct{}
	img  *image.Image
	err  error
}

func newImages(root string, insecure []string) *images {
	return &images{root: root, insecure: insecure, calls: map[string]*imageCall{}}
}

// Get returns the image for ref, pulling per policy (see image.Store.Get).
func (s *images) Get(ctx context.Context, ref string, policy image.PullPolicy, opts image.PullOptions) (*image.Image, error) {
	if strings.HasPrefix(ref, image.PrefixRootfs) {
		return image.ResolveRootfs(ref)
	}
	key := string(policy) + " " + ref
	s.mu.Lock()
	if c := s.calls[key]; c != nil {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.img, c.err
		case <-ctx.Done():
			return nil, &image.Error{Ref: ref, Err: ctx.Err()}
		}
	}
	c := &imageCall{done: make(chan struct{})}
	s.calls[key] = c
	s.mu.Unlock()
	c.img, c.err = s.helper(ctx, ref, policy, opts)
	s.mu.Lock()
	delete(s.calls, key)
	s.mu.Unlock()
	close(c.done)
	return c.img, c.err
}

// Size is the unpacked size of an image the helper got; 0 if unknown (rootfs:).
func (s *images) Size(img *image.Image) int64 {
	if n, ok := s.sizes.Load(img.ID); ok {
		return n.(int64)
	}
	return 0
}

// helper runs the image helper for ref and reads its output.
func (s *images) helper(ctx context.Context, ref string, policy image.PullPolicy, opts image.PullOptions) (*image.Image, error) {
	progress := opts.Progress
	fail := func(err error) (*image.Image, error) {
		return nil, &image.Error{Ref: ref, Err: fmt.Errorf("image helper: %w", err)}
	}
	cli, err := cliPath()
	if err != nil {
		return fail(err)
	}
	args := []string{"--root", s.root}
	for _, r := range s.insecure {
		args = append(args, "--insecure-registry", r)
	}
	args = append(args, "image", "get-for-monitor", "--policy", string(policy))
	// The pod's pull secrets go on the helper's standard input: they hold passwords.
	var stdin []byte
	if !opts.Keyring.Empty() {
		if stdin, err = json.Marshal(opts.Keyring); err != nil {
			return fail(err)
		}
		args = append(args, "--keyring-stdin")
	}
	args = append(args, "--", ref)
	cmd := exec.CommandContext(ctx, cli, args...)
	// A stopped pod ends its pulls: the helper cancels cleanly on SIGTERM (an interrupted
	// pull leaves the store unchanged), and is killed if it does not.
	cmd.Cancel = func() error { return cmd.Process.Signal(unix.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	var result *image.HelperLine
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l image.HelperLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch {
		case l.Progress != nil:
			if progress != nil {
				progress(*l.Progress)
			}
		case l.Image != nil || l.Error != nil:
			result = &l
		}
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, &image.Error{Ref: ref, Err: ctx.Err()}
	case result == nil && werr != nil:
		return fail(fmt.Errorf("%w: %s", werr, strings.TrimSpace(stderr.String())))
	case result == nil:
		return fail(fmt.Errorf("no result: %s", strings.TrimSpace(stderr.String())))
	case result.Error != nil:
		return nil, result.Error.Err()
	}
	s.sizes.Store(result.Image.ID, result.Size)
	return result.Image, nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
