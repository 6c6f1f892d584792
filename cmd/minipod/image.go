package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/pods"
	"github.com/minipod/minipod/state"
)

// imageFlags is what every `minipod image` subcommand shares: the global flags, including
// --insecure-registry (a root flag, so `run` and `image pull` honour the same list).
type imageFlags struct {
	g *globalFlags
}

// store opens the image store below --root, after checking the
// global flags.
func (f *imageFlags) store() (*image.Store, state.Config, error) {
	cfg, err := f.g.config()
	if err != nil {
		return nil, cfg, err
	}
	s, err := image.Open(cfg.ImagesDir(), cfg.InsecureRegistries...)
	if err != nil {
		return nil, cfg, &exitError{exitFailed, err}
	}
	return s, cfg, nil
}

// storeForRefs checks the references given on the command line, then opens the store.
func (f *imageFlags) storeForRefs(refs []string) (*image.Store, state.Config, error) {
	if err := checkRefs(refs); err != nil {
		return nil, state.Config{}, err
	}
	return f.store()
}

// imageError maps a store error to an exit code: a malformed reference is bad input (2),
// anything else a failure (1).
func imageError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{exitInterrupted, err}
	}
	if errors.Is(err, image.ErrInvalidReference) {
		return badInput(err)
	}
	return &exitError{exitFailed, err}
}

func newImageCmd(g *globalFlags) *cobra.Command {
	f := &imageFlags{g: g}
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the local image store (pull, ls, rm, import, prune, inspect)",
		Args:  cobra.ArbitraryArgs,
		// Without RunE cobra prints the help and exits 0 for `minipod image bogus`.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("image: a subcommand is required (pull, ls, rm, import, prune, inspect)"))
			}
			return badInput(fmt.Errorf("unknown command %q for \"minipod image\" (pull, ls, rm, import, prune, inspect)", args[0]))
		},
	}
	cmd.AddCommand(newImagePullCmd(f), newImageLsCmd(f), newImageRmCmd(f), newImageImportCmd(f), newImagePruneCmd(f), newImageInspectCmd(f), newImageGetForMonitorCmd(f))
	return cmd
}

// imageArgs checks the number of arguments of an image subcommand: exactly n, or at least n
// when orMore.
func imageArgs(n int, orMore bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n || orMore && len(args) > n {
			return nil
		}
		want := fmt.Sprintf("%d", n)
		if orMore {
			want = "at least " + want
		}
		usage := cmd.Use
		if p := cmd.Parent(); p != nil {
			usage = p.CommandPath() + " " + usage
		}
		return badInput(fmt.Errorf("%s: takes %s argument(s), got %d (usage: %s)", cmd.Name(), want, len(args), usage))
	}
}

// checkRefs rejects arguments that can never be references before anything is opened.
func checkRefs(args []string) error {
	for _, a := range args {
		if a == "" || strings.TrimSpace(a) != a || strings.ContainsAny(a, "\x00\n\r\t") {
			return badInput(fmt.Errorf("invalid image reference %q", a))
		}
	}
	return nil
}

// interruptible returns a context cancelled by SIGINT or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
}

// ---------------------------------------------------------------------------------------------
// pull

func newImagePullCmd(f *imageFlags) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image from its registry into the store",
		Long: `Pull an image (e.g. busybox:1.36, docker.io/library/busybox, localhost:5000/app@sha256:...)
into the store. Progress goes to stderr: a bar per layer on a terminal, plain lines otherwise;
the image ID is printed on stdout at the end.`,
		Args: imageArgs(1, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := f.storeForRefs(args)
			if err != nil {
				return err
			}
			ctx, cancel := interruptible()
			defer cancel()
			var opts image.PullOptions
			var pr progressPrinter
			if !quiet {
				pr = newProgressPrinter(os.Stderr, isTerminal(os.Stderr))
				opts.Progress = pr.update
			}
			img, err := s.Pull(ctx, args[0], opts)
			if pr != nil {
				pr.finish()
			}
			if err != nil {
				return imageError(err)
			}
			fmt.Println(img.ID)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress output, only the image ID")
	return cmd
}

// isTerminal reports whether f is a terminal (what golang.org/x/term's IsTerminal does).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

type progressPrinter interface {
	update(image.Progress)
	finish()
}

func newProgressPrinter(w io.Writer, tty bool) progressPrinter {
	if tty {
		return &barPrinter{w: w, layers: map[string]*layerProgress{}}
	}
	return &linePrinter{w: w, layers: map[string]*layerProgress{}}
}

type layerProgress struct {
	id       string
	total    int64
	complete int64
	done     bool
	message  string
}

// apply folds an event into the layer's state and reports whether something a plain log
// would show changed (a new message or completion; bytes alone do not count).
func (l *layerProgress) apply(p image.Progress) (changed bool) {
	if p.Total > 0 {
		l.total = p.Total
	}
	if p.Complete > l.complete {
		l.complete = p.Complete
	}
	if p.Message != "" && p.Message != l.message {
		l.message = p.Message
		changed = true
	}
	if p.Done && !l.done {
		l.done = true
		changed = true
	}
	return changed
}

// linePrinter writes one line per layer state change: for logs and pipes.
type linePrinter struct {
	mu     sync.Mutex
	w      io.Writer
	layers map[string]*layerProgress
}

func (p *linePrinter) update(ev image.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Layer == "" {
		if ev.Message != "" {
			fmt.Fprintln(p.w, ev.Message)
		}
		return
	}
	l := p.layers[ev.Layer]
	isNew := l == nil
	if isNew {
		l = &layerProgress{id: ev.Layer}
		p.layers[ev.Layer] = l
	}
	if !l.apply(ev) && !isNew {
		return
	}
	fmt.Fprintln(p.w, plainLine(l))
}

func (p *linePrinter) finish() {}

// plainLine is "sha256:0123abcd: done 3.1 MB", "...: exists", "...: fetching 3.1 MB".
func plainLine(l *layerProgress) string {
	switch {
	case l.done && l.total > 0:
		return fmt.Sprintf("%s: done %s", l.id, humanSize(l.total))
	case l.done:
		return l.id + ": done"
	case l.message != "" && l.total > 0:
		return fmt.Sprintf("%s: %s %s", l.id, l.message, humanSize(l.total))
	case l.message != "":
		return l.id + ": " + l.message
	case l.total > 0:
		return fmt.Sprintf("%s: fetching %s", l.id, humanSize(l.total))
	}
	return l.id + ": fetching"
}

// barPrinter keeps one line per layer at the bottom of the terminal and redraws them in
// place; image-wide messages scroll above them.
type barPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	layers   map[string]*layerProgress
	order    []string
	pending  []string // image-wide messages not yet printed
	drawn    int      // layer lines currently on screen below the cursor's line start
	lastDraw time.Time
}

const barRedrawEvery = 100 * time.Millisecond

func (p *barPrinter) update(ev image.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	important := false
	if ev.Layer == "" {
		if ev.Message == "" {
			return
		}
		p.pending = append(p.pending, ev.Message)
		important = true
	} else {
		l := p.layers[ev.Layer]
		if l == nil {
			l = &layerProgress{id: ev.Layer}
			p.layers[ev.Layer] = l
			p.order = append(p.order, ev.Layer)
			important = true
		}
		if l.apply(ev) {
			important = true
		}
	}
	if important || time.Since(p.lastDraw) >= barRedrawEvery {
		p.redraw()
	}
}

func (p *barPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redraw()
}

// redraw moves the cursor up over the layer lines, clears to the end of the screen, prints
// pending messages and then every layer line again.
func (p *barPrinter) redraw() {
	var b bytes.Buffer
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, m := range p.pending {
		b.WriteString(m)
		b.WriteByte('\n')
	}
	p.pending = nil
	for _, id := range p.order {
		b.WriteString(barLine(p.layers[id], 30))
		b.WriteByte('\n')
	}
	p.drawn = len(p.order)
	p.w.Write(b.Bytes())
	p.lastDraw = time.Now()
}

// barLine is "sha256:0123abcd [=========>          ]  1.2 MB / 3.1 MB".
func barLine(l *layerProgress, width int) string {
	frac := 0.0
	switch {
	case l.done:
		frac = 1
	case l.total > 0:
		frac = math.Min(1, float64(l.complete)/float64(l.total))
	}
	fill := int(frac * float64(width))
	bar := strings.Repeat("=", fill)
	if fill < width {
		if fill > 0 {
			bar = bar[:fill-1] + ">"
		}
		bar += strings.Repeat(" ", width-fill)
	}
	var tail string
	switch {
	case l.done && l.total > 0:
		tail = "done " + humanSize(l.total)
	case l.done:
		tail = "done"
	case l.total > 0:
		tail = humanSize(l.complete) + " / " + humanSize(l.total)
		if l.message != "" {
			tail = l.message + " " + tail
		}
	default:
		tail = l.message
	}
	return fmt.Sprintf("%s [%s] %s", l.id, bar, tail)
}

// ---------------------------------------------------------------------------------------------
// ls

func newImageLsCmd(f *imageFlags) *cobra.Command {
	var quiet, digests bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the images in the store",
		Args:    imageArgs(0, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := f.store()
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return imageError(err)
			}
			if quiet {
				for _, id := range uniqueShortIDs(list) {
					fmt.Println(id)
				}
				return nil
			}
			printImages(os.Stdout, list, digests, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print image IDs only")
	cmd.Flags().BoolVar(&digests, "digests", false, "show the manifest digest")
	return cmd
}

// sortImages orders rows newest first, then by repository and tag (podman's order).
func sortImages(list []image.Summary) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		if a.Repository != b.Repository {
			return a.Repository < b.Repository
		}
		return a.Tag < b.Tag
	})
}

func uniqueShortIDs(list []image.Summary) []string {
	sortImages(list)
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		id := shortID(s.ID)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func printImages(w io.Writer, list []image.Summary, digests bool, now time.Time) {
	sortImages(list)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if digests {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
	} else {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t", orNone(s.Repository), orNone(s.Tag))
		if digests {
			fmt.Fprintf(tw, "%s\t", orNone(s.RepoDigest))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", shortID(s.ID), createdAgo(s.Created, now), humanSize(s.Size))
	}
	tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// shortID is the first 12 hex digits of an image ID ("sha256:0123..." → "0123456789ab").
// IDs that are not digests (rootfs:/dir) are returned as they are.
func shortID(id string) string {
	algo, hex, ok := strings.Cut(id, ":")
	if !ok {
		hex = id
	} else if algo != "sha256" && algo != "sha512" {
		return id
	}
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// createdAgo is podman's CREATED column: "2 hours ago" (Docker's go-units HumanDuration).
func createdAgo(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return humanDuration(now.Sub(t)) + " ago"
}

// humanDuration follows github.com/docker/go-units HumanDuration.
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < 1 {
		return "Less than a second"
	} else if seconds == 1 {
		return "1 second"
	} else if seconds < 60 {
		return fmt.Sprintf("%d seconds", seconds)
	} else if minutes := int(d.Minutes()); minutes == 1 {
		return "About a minute"
	} else if minutes < 60 {
		return fmt.Sprintf("%d minutes", minutes)
	} else if hours := int(d.Hours() + 0.5); hours == 1 {
		return "About an hour"
	} else if hours < 48 {
		return fmt.Sprintf("%d hours", hours)
	} else if hours < 24*7*2 {
		return fmt.Sprintf("%d days", hours/24)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%d weeks", hours/24/7)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// humanSize is a size in decimal units with three significant digits, as docker and podman
// print it ("5.1 MB", "999 B", "1.23 GB"). Unlike go-units it never prints "1e+03 kB": a
// value that rounds to 1000 moves to the next unit.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	if n < 0 {
		return "-" + humanSize(-n)
	}
	v := float64(n)
	i := 0
	for i < len(units)-1 {
		if v < 1000 {
			// Rounding to 3 significant digits may reach 1000 (999.95 kB → "1e+03").
			if r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64); r < 1000 {
				break
			}
		}
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.3g %s", v, units[i])
}

// ---------------------------------------------------------------------------------------------
// rm

func newImageRmCmd(f *imageFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm REF...",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove images (refused while a pod uses one, unless --force)",
		Args:    imageArgs(1, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, cfg, err := f.storeForRefs(args)
			if err != nil {
				return err
			}
			inUse, err := pods.ImagesInUse(cfg)
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("finding the images pods use: %w", err)}
			}
			// Like podman: remove what can be removed, report the rest, fail if any failed.
			var errs []error
			for _, ref := range args {
				removed, err := s.Remove(ref, force, image.InUse(inUse))
				for _, r := range removed {
					fmt.Println(r)
				}
				if err != nil {
					if errors.Is(err, image.ErrInUse) && !strings.Contains(err.Error(), "force") {
						err = fmt.Errorf("%w (delete the pod first, or use --force)", err)
					}
					errs = append(errs, withRef(ref, err))
				}
			}
			return reportErrors(errs)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove an image even while a pod uses it (its containers keep their layers until they stop)")
	return cmd
}

// withRef names the reference in an error unless the store's error already does.
func withRef(ref string, err error) error {
	var ie *image.Error
	if errors.As(err, &ie) && ie.Ref != "" {
		return err
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// reportErrors reports every failure but the last on stderr (execute prints the last) and returns the exit code: 2 when every
// failure was a malformed reference, otherwise 1.
func reportErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	allBad := true
	for _, err := range errs[:len(errs)-1] {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	for _, err := range errs {
		if !errors.Is(err, image.ErrInvalidReference) {
			allBad = false
		}
	}
	last := errs[len(errs)-1]
	if allBad {
		return badInput(last)
	}
	return &exitError{exitFailed, last}
}

// ---------------------------------------------------------------------------------------------
// import

func newImageImportCmd(f *imageFlags) *cobra.Command {
	var changes []string
	cmd := &cobra.Command{
		Use:   "import FILE|DIR NAME[:TAG] [--change 'INSTRUCTION']...",
		Short: "Make a one-layer image from a root filesystem directory or tarball",
		Args:  imageArgs(2, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, ref, err := importArgs(args[0], args[1])
			if err != nil {
				return err
			}
			// Checked here too, so a bad change exits 2 before the store is opened.
			if _, err := image.ParseChanges(changes); err != nil {
				return badInput(fmt.Errorf("import: %w", err))
			}
			s, _, err := f.store()
			if err != nil {
				return err
			}
			ctx, cancel := interruptible()
			defer cancel()
			img, err := s.Import(ctx, src, ref, changes...)
			if err != nil {
				if errors.Is(err, image.ErrInvalidChange) {
					return badInput(err)
				}
				return imageError(err)
			}
			fmt.Println(img.ID)
			return nil
		},
	}
	// StringArray, not StringSlice: an instruction may contain commas (CMD ["a", "b"]).
	cmd.Flags().StringArrayVarP(&changes, "change", "c", nil,
		"a Dockerfile `INSTRUCTION` for the image config, as docker import -c takes it: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER or WORKDIR (repeatable)")
	return cmd
}

// importArgs checks import's arguments: the source must exist and be a directory or a regular
// file, the name must be a valid repository name with an optional tag (not a digest).
func importArgs(src, ref string) (string, string, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", "", badInput(err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", "", badInput(fmt.Errorf("import: %w", err))
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return "", "", badInput(fmt.Errorf("import: %s is neither a directory nor a file", src))
	}
	if err := checkRefs([]string{ref}); err != nil {
		return "", "", err
	}
	if strings.Contains(ref, "@") {
		return "", "", badInput(fmt.Errorf("import: name %q: a digest cannot be given to a new image", ref))
	}
	if _, err := name.NewTag(ref); err != nil {
		return "", "", badInput(fmt.Errorf("import: name %q: %w", ref, err))
	}
	return abs, ref, nil
}

// ---------------------------------------------------------------------------------------------
// prune

func newImagePruneCmd(f *imageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Remove untagged images and unreferenced layers (never ones a pod uses)",
		Args:  imageArgs(0, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, cfg, err := f.store()
			if err != nil {
				return err
			}
			inUse, err := pods.ImagesInUse(cfg)
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("finding the images pods use: %w", err)}
			}
			removed, freed, err := s.Prune(image.InUse(inUse))
			for _, r := range removed {
				fmt.Println(r)
			}
			if err != nil {
				return imageError(err)
			}
			fmt.Printf("Total reclaimed space: %s\n", humanSize(freed))
			return nil
		},
	}
}

// ---------------------------------------------------------------------------------------------
// inspect

func newImageInspectCmd(f *imageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect REF...",
		Short: "Print images' details as a JSON array",
		Args:  imageArgs(1, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := f.storeForRefs(args)
			if err != nil {
				return err
			}
			var docs [][]byte
			var errs []error
			for _, ref := range args {
				b, err := s.Inspect(ref)
				if err != nil {
					errs = append(errs, withRef(ref, err))
					continue
				}
				docs = append(docs, b)
			}
			out, err := jsonArray(docs)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			os.Stdout.Write(out)
			return reportErrors(errs)
		},
	}
}

// jsonArray joins JSON documents into one indented array ("[]" when there are none). A
// document that is itself an array (the store describes an image as a one-element array, like
// podman) contributes its elements.
func jsonArray(docs [][]byte) ([]byte, error) {
	var elems []json.RawMessage
	for _, d := range docs {
		d = bytes.TrimSpace(d)
		if !json.Valid(d) {
			return nil, fmt.Errorf("the image store returned invalid JSON: %.80q", d)
		}
		if len(d) > 0 && d[0] == '[' {
			var inner []json.RawMessage
			if err := json.Unmarshal(d, &inner); err != nil {
				return nil, fmt.Errorf("the image store returned invalid JSON: %w", err)
			}
			elems = append(elems, inner...)
			continue
		}
		elems = append(elems, d)
	}
	if len(elems) == 0 {
		return []byte("[]\n"), nil
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, el := range elems {
		b.WriteString("    ")
		if err := json.Indent(&b, el, "    ", "    "); err != nil {
			return nil, fmt.Errorf("the image store returned invalid JSON: %w", err)
		}
		if i < len(elems)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes(), nil
}
