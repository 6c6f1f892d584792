package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/image"
	"github.com/minipod/minipod/state"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{999, "999 B"},
		{1000, "1 kB"},
		{1024, "1.02 kB"},
		{4_404_019, "4.4 MB"},
		{5_100_000, "5.1 MB"},
		{1_234_567, "1.23 MB"},
		{999_400, "999 kB"},
		{999_999, "1 MB"}, // go-units would say "1e+03 kB"
		{999_950_000, "1 GB"},
		{12_345_678_901, "12.3 GB"},
		{3_000_000_000_000, "3 TB"},
		{-2000, "-2 kB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.n); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestCreatedAgo(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{-time.Hour, "Less than a second ago"}, // clock skew: created "in the future"
		{0, "Less than a second ago"},
		{500 * time.Millisecond, "Less than a second ago"},
		{time.Second, "1 second ago"},
		{45 * time.Second, "45 seconds ago"},
		{90 * time.Second, "About a minute ago"},
		{30 * time.Minute, "30 minutes ago"},
		{59*time.Minute + 59*time.Second, "59 minutes ago"},
		{time.Hour, "About an hour ago"},
		{2 * time.Hour, "2 hours ago"},
		{2*time.Hour + 31*time.Minute, "3 hours ago"},
		{47 * time.Hour, "47 hours ago"},
		{3 * 24 * time.Hour, "3 days ago"},
		{3 * 7 * 24 * time.Hour, "3 weeks ago"},
		{3 * 365 * 24 * time.Hour, "3 years ago"},
	}
	for _, tt := range tests {
		if got := createdAgo(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("createdAgo(now-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := createdAgo(time.Time{}, now); got != "N/A" {
		t.Errorf("createdAgo(zero) = %q, want N/A", got)
	}
}

func TestShortID(t *testing.T) {
	tests := []struct{ id, want string }{
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789ab"},
		{"0123456789abcdef0123", "0123456789ab"},
		{"sha256:0123", "0123"},
		{"rootfs:/var/lib/rootfs", "rootfs:/var/lib/rootfs"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := shortID(tt.id); got != tt.want {
			t.Errorf("shortID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func sampleImages(now time.Time) []image.Summary {
	return []image.Summary{
		{Repository: "docker.io/library/busybox", Tag: "1.36", ID: "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111", RepoDigest: "sha256:dddd", Created: now.Add(-2 * time.Hour), Size: 4_404_019},
		{Repository: "127.0.0.1:5000/test/app", Tag: "v1", ID: "sha256:bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222", Created: now.Add(-30 * time.Second), Size: 5_100_000},
		{Repository: "docker.io/library/busybox", Tag: "latest", ID: "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111", RepoDigest: "sha256:dddd", Created: now.Add(-2 * time.Hour), Size: 4_404_019},
		{Repository: "<none>", Tag: "<none>", ID: "sha256:cccccccccccc3333333333333333333333333333333333333333333333333333", Created: now.Add(-3 * 24 * time.Hour), Size: 999},
	}
}

func TestPrintImages(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	printImages(&b, sampleImages(now), false, now)
	want := `REPOSITORY                 TAG     IMAGE ID      CREATED         SIZE
127.0.0.1:5000/test/app    v1      bbbbbbbbbbbb  30 seconds ago  5.1 MB
docker.io/library/busybox  1.36    aaaaaaaaaaaa  2 hours ago     4.4 MB
docker.io/library/busybox  latest  aaaaaaaaaaaa  2 hours ago     4.4 MB
<none>                     <none>  cccccccccccc  3 days ago      999 B
`
	if b.String() != want {
		t.Errorf("image ls:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	printImages(&b, sampleImages(now), true, now)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if f := strings.Fields(lines[0]); !reflect.DeepEqual(f, []string{"REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"}) {
		t.Errorf("--digests header: %q", lines[0])
	}
	if f := strings.Fields(lines[1]); f[2] != "<none>" {
		t.Errorf("--digests: an image without a repo digest shows %q, want <none>", f[2])
	}
	if f := strings.Fields(lines[2]); f[2] != "sha256:dddd" || f[3] != "aaaaaaaaaaaa" {
		t.Errorf("--digests row: %q", lines[2])
	}
}

func TestPrintImagesEmpty(t *testing.T) {
	var b bytes.Buffer
	printImages(&b, nil, false, time.Now())
	if strings.TrimSpace(b.String()) != "REPOSITORY  TAG  IMAGE ID  CREATED  SIZE" {
		t.Errorf("empty list: %q", b.String())
	}
}

func TestUniqueShortIDs(t *testing.T) {
	now := time.Now()
	got := uniqueShortIDs(sampleImages(now))
	want := []string{"bbbbbbbbbbbb", "aaaaaaaaaaaa", "cccccccccccc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ls -q = %v, want %v", got, want)
	}
}

func TestLinePrinter(t *testing.T) {
	var b bytes.Buffer
	p := newProgressPrinter(&b, false)
	for _, ev := range []image.Progress{
		{Message: "resolving 127.0.0.1:5000/test/busybox:1"},
		{Layer: "sha256:0123456789ab", Total: 3_100_000},
		{Layer: "sha256:0123456789ab", Total: 3_100_000, Complete: 1_000_000},
		{Layer: "sha256:0123456789ab", Total: 3_100_000, Complete: 3_100_000},
		{Layer: "sha256:ba9876543210", Message: "exists"},
		{Layer: "sha256:0123456789ab", Total: 3_100_000, Complete: 3_100_000, Message: "verifying"},
		{Layer: "sha256:0123456789ab", Total: 3_100_000, Complete: 3_100_000, Done: true},
		{Layer: "sha256:0123456789ab", Total: 3_100_000, Complete: 3_100_000, Done: true}, // repeated: no line
		{Layer: "sha256:ba9876543210", Done: true},
	} {
		p.update(ev)
	}
	p.finish()
	want := `resolving 127.0.0.1:5000/test/busybox:1
sha256:0123456789ab: fetching 3.1 MB
sha256:ba9876543210: exists
sha256:0123456789ab: verifying 3.1 MB
sha256:0123456789ab: done 3.1 MB
sha256:ba9876543210: done
`
	if b.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("plain progress contains escape sequences")
	}
}

func TestBarPrinter(t *testing.T) {
	var b bytes.Buffer
	p := newProgressPrinter(&b, true)
	p.update(image.Progress{Layer: "sha256:aaaaaaaaaaaa", Total: 2000})
	p.update(image.Progress{Layer: "sha256:bbbbbbbbbbbb", Total: 1000})
	p.update(image.Progress{Message: "a message"})
	p.update(image.Progress{Layer: "sha256:aaaaaaaaaaaa", Total: 2000, Done: true})
	p.finish()
	out := b.String()
	// Each redraw after the first moves up over the layer lines drawn before.
	for _, want := range []string{"\x1b[1A", "\x1b[2A", "\x1b[J", "a message\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
	// The final screen: what follows the last cursor movement.
	last := out[strings.LastIndex(out, "\x1b[J")+len("\x1b[J"):]
	want := "sha256:aaaaaaaaaaaa [" + strings.Repeat("=", 30) + "] done 2 kB\n" +
		"sha256:bbbbbbbbbbbb [" + strings.Repeat(" ", 30) + "] 0 B / 1 kB\n"
	if last != want {
		t.Errorf("final screen:\n%q\nwant:\n%q", last, want)
	}
}

func TestBarLine(t *testing.T) {
	tests := []struct {
		l    layerProgress
		want string
	}{
		{layerProgress{id: "L", total: 100, complete: 50}, "L [====>     ] 50 B / 100 B"},
		{layerProgress{id: "L", total: 100, complete: 0}, "L [          ] 0 B / 100 B"},
		{layerProgress{id: "L", total: 100, complete: 500}, "L [==========] 500 B / 100 B"},
		{layerProgress{id: "L", total: 100, complete: 100, done: true}, "L [==========] done 100 B"},
		{layerProgress{id: "L", message: "exists"}, "L [          ] exists"},
		{layerProgress{id: "L", total: 100, complete: 100, message: "verifying"}, "L [==========] verifying 100 B / 100 B"},
	}
	for _, tt := range tests {
		if got := barLine(&tt.l, 10); got != tt.want {
			t.Errorf("barLine(%+v) = %q, want %q", tt.l, got, tt.want)
		}
	}
}

func TestJSONArray(t *testing.T) {
	out, err := jsonArray([][]byte{[]byte(`{"Id":"sha256:a","RepoTags":["x:1"]}`), []byte("{\"Id\":\"sha256:b\"}\n")})
	if err != nil {
		t.Fatal(err)
	}
	var v []map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(v) != 2 || v[0]["Id"] != "sha256:a" || v[1]["Id"] != "sha256:b" {
		t.Errorf("got %v", v)
	}
	if !strings.HasPrefix(string(out), "[\n    {\n        \"Id\"") {
		t.Errorf("not indented like podman: %q", out)
	}
	// The store describes an image as a one-element array; arrays are flattened.
	out, err = jsonArray([][]byte{[]byte(`[{"Id":"a"}]`), []byte(`[{"Id":"b"},{"Id":"c"}]`), []byte(`{"Id":"d"}`)})
	if err != nil {
		t.Fatal(err)
	}
	v = nil
	if err := json.Unmarshal(out, &v); err != nil || len(v) != 4 || v[0]["Id"] != "a" || v[3]["Id"] != "d" {
		t.Errorf("flattening: %v %s", err, out)
	}
	if out, _ := jsonArray(nil); string(out) != "[]\n" {
		t.Errorf("empty: %q", out)
	}
	if _, err := jsonArray([][]byte{[]byte("{")}); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestImportArgs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rootfs.tar")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []struct{ src, ref string }{
		{dir, "myimage"}, {file, "myimage:v1"}, {dir, "127.0.0.1:5000/test/app:1.0"}, {dir, "example.com/a/b"},
	} {
		src, ref, err := importArgs(ok.src, ok.ref)
		if err != nil || src != ok.src || ref != ok.ref {
			t.Errorf("importArgs(%q, %q) = %q, %q, %v", ok.src, ok.ref, src, ref, err)
		}
	}
	for _, bad := range []struct{ src, ref string }{
		{filepath.Join(dir, "missing"), "myimage"},
		{"/dev/null", "myimage"},
		{dir, "UPPER/Case:tag"},
		{dir, "myimage@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{dir, ""},
		{dir, " myimage"},
		{dir, "my image"},
		{dir, "myimage:bad tag"},
	} {
		_, _, err := importArgs(bad.src, bad.ref)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitBadInput {
			t.Errorf("importArgs(%q, %q) = %v, want bad input", bad.src, bad.ref, err)
		}
	}
}

func TestImageErrorExitCodes(t *testing.T) {
	code := func(err error) int {
		var ee *exitError
		if !errors.As(err, &ee) {
			return -1
		}
		return ee.code
	}
	if err := imageError(nil); err != nil {
		t.Errorf("nil -> %v", err)
	}
	invalid := &image.Error{Ref: "UPPER", Kind: image.ErrInvalidReference, Err: errors.New("bad")}
	if c := code(imageError(invalid)); c != exitBadInput {
		t.Errorf("invalid reference -> exit %d, want 2", c)
	}
	notFound := &image.Error{Ref: "x", Kind: image.ErrNotFound, Err: errors.New("MANIFEST_UNKNOWN")}
	if c := code(imageError(notFound)); c != exitFailed {
		t.Errorf("not found -> exit %d, want 1", c)
	}
	if c := code(imageError(image.ErrInUse)); c != exitFailed {
		t.Errorf("in use -> exit %d, want 1", c)
	}
	if c := code(reportErrors([]error{invalid, invalid})); c != exitBadInput {
		t.Errorf("only invalid references -> exit %d, want 2", c)
	}
	if c := code(reportErrors([]error{invalid, notFound})); c != exitFailed {
		t.Errorf("invalid and missing -> exit %d, want 1", c)
	}
}

// Bad arguments exit 2 before the store is opened: nothing is created below --root.
func TestImageArgumentValidation(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	global := []string{"--root=" + filepath.Join(dir, "root"), "--state-dir=" + filepath.Join(dir, "state"), "--log-dir=" + filepath.Join(dir, "log")}
	for _, args := range [][]string{
		{"image"},
		{"image", "bogus"},
		{"image", "pull"},
		{"image", "pull", "a", "b"},
		{"image", "pull", " busybox"},
		{"image", "pull", ""},
		{"image", "ls", "extra"},
		{"image", "ls", "--bogus"},
		{"image", "rm"},
		{"image", "rm", "a", "bad\nref"},
		{"image", "inspect"},
		{"image", "import", src},
		{"image", "import", src, "a", "b"},
		{"image", "import", filepath.Join(dir, "missing"), "myimage"},
		{"image", "import", src, "UPPER/Case:tag"},
		{"image", "import", src, "myimage@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"image", "import", src, "myimage", "--change", "RUN make"},
		{"image", "import", src, "myimage", "-c", "CMD ok", "-c", "EXPOSE http"},
		{"image", "import", "-c", "ENV", src, "myimage"},
		{"image", "import", src, "myimage", "--change"},
		{"image", "prune", "extra"},
		{"image", "pull", "--insecure-registry", "http://x/y", "busybox"},
		{"image", "pull", "--insecure-registry=a:1,b/c", "busybox"},
		{"image", "ls", "--subnet=nonsense"},
	} {
		argv := append(append([]string{}, args[:1]...), global...)
		argv = append(argv, args[1:]...)
		if code := execute(argv); code != exitBadInput {
			t.Errorf("minipod %q: exit %d, want %d", args, code, exitBadInput)
		}
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if p != dir && err == nil {
			t.Errorf("bad input created %s", p)
		}
		return nil
	})
}

// --insecure-registry reaches the store; the store lives at <root>/images.
func TestImageStoreInsecure(t *testing.T) {
	dir := t.TempDir()
	g := &globalFlags{cfg: state.DefaultConfig(), subnet: "10.66.0.0/16", logMaxSize: "10Mi"}
	g.cfg.Root, g.cfg.StateDir, g.cfg.LogDir = filepath.Join(dir, "root"), filepath.Join(dir, "state"), filepath.Join(dir, "log")
	g.cfg.InsecureRegistries = []string{"registry.local:5000", "10.0.0.1"}
	s, _, err := (&imageFlags{g: g}).store()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Insecure, g.cfg.InsecureRegistries) {
		t.Errorf("Store.Insecure = %q, want %q", s.Insecure, g.cfg.InsecureRegistries)
	}
	if want := filepath.Join(dir, "root", "images"); s.Root != want {
		t.Errorf("store at %s, want %s", s.Root, want)
	}
}

// --change is repeatable, keeps commas (StringArray, not StringSlice), and a bad one is bad
// input naming the change.
func TestImportChangeFlag(t *testing.T) {
	cmd := newImageImportCmd(&imageFlags{})
	if err := cmd.ParseFlags([]string{"-c", `CMD ["a", "b,c"]`, "--change", "ENV A=1,B=2"}); err != nil {
		t.Fatal(err)
	}
	got, err := cmd.Flags().GetStringArray("change")
	if want := []string{`CMD ["a", "b,c"]`, "ENV A=1,B=2"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("--change = %q, %v; want %q", got, err, want)
	}

	cmd = newImageImportCmd(&imageFlags{})
	cmd.SetArgs([]string{t.TempDir(), "myimage", "-c", "USER app", "-c", "volume /data"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err = cmd.Execute()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitBadInput || !errors.Is(ee.err, image.ErrInvalidChange) ||
		!strings.Contains(err.Error(), `"volume /data"`) || !strings.Contains(err.Error(), "VOLUME is not supported") {
		t.Errorf("bad change: %v", err)
	}
}
