package hostlimit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func fakeProc(t *testing.T, values map[string]string) {
	t.Helper()
	old := procRoot
	procRoot = t.TempDir()
	t.Cleanup(func() { procRoot = old })
	for name, v := range values {
		p := filepath.Join(procRoot, "sys", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNamesTheLimit(t *testing.T) {
	fakeProc(t, map[string]string{
		"fs/inotify/max_user_instances": "128",
		"fs/inotify/max_user_watches":   "8192",
		"fs/file-max":                   "99",
		"kernel/pid_max":                "32768",
		"kernel/threads-max":            "1000",
	})
	wrapped := func(e unix.Errno) error { return fmt.Errorf("x: %w", e) }
	for _, tt := range []struct {
		name string
		err  error
		want []string // substrings; nil: returned unchanged
	}{
		{"inotify instances", Inotify("inotify_init1", wrapped(unix.EMFILE)), []string{"inotify_init1", "fs.inotify.max_user_instances = 128", "RLIMIT_NOFILE = "}},
		{"inotify watches", Inotify("inotify_add_watch /x", unix.ENOSPC), []string{"fs.inotify.max_user_watches = 8192"}},
		{"inotify other", Inotify("inotify_init1", unix.EINVAL), nil},
		{"files", Files("open", unix.EMFILE), []string{"RLIMIT_NOFILE = "}},
		{"system files", Files("open", unix.ENFILE), []string{"fs.file-max = 99"}},
		{"processes", Processes("start pod monitor", wrapped(unix.EAGAIN)), []string{"kernel.pid_max = 32768", "kernel.threads-max = 1000", "RLIMIT_NPROC = "}},
		{"not a limit", Processes("start", unix.ENOENT), nil},
	} {
		var le *Error
		if tt.want == nil {
			if errors.As(tt.err, &le) {
				t.Errorf("%s: %v named a limit", tt.name, tt.err)
			}
			continue
		}
		if !errors.As(tt.err, &le) {
			t.Errorf("%s: %v is not a host limit error", tt.name, tt.err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(tt.err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.name, tt.err, w)
			}
		}
	}
}
