package nspin

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

// pinIPCAndUTS is how a pod sandbox uses Create: new IPC and UTS namespaces with the
// hostname set inside.
func pinIPCAndUTS(ipc, uts, hostname string) error {
	return Create([]Pin{{"ipc", ipc}, {"uts", uts}}, func() error { return unix.Sethostname([]byte(hostname)) })
}

// nsInode is the inode of a namespace file: equal inodes mean the same namespace.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// threadNSInode is the inode of the calling goroutine's thread's namespace of kind. (Not
// /proc/self/ns: that is the main thread's, see TestCreateLeavesMainThread.)
func threadNSInode(t *testing.T, kind string) uint64 {
	t.Helper()
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	return nsInode(t, "/proc/thread-self/ns/"+kind)
}

// utsHostname reads the hostname of the UTS namespace pinned at path.
func utsHostname(t *testing.T, path string) string {
	t.Helper()
	if nsenter, err := exec.LookPath("nsenter"); err == nil {
		out, err := exec.Command(nsenter, "--uts="+path, "hostname").Output()
		if err != nil {
			t.Fatalf("nsenter --uts=%s hostname: %v", path, err)
		}
		return strings.TrimSpace(string(out))
	}
	type result struct {
		name string
		err  error
	}
	c := make(chan result, 1)
	go func() {
		// The thread changes namespaces and is never reused: no UnlockOSThread.
		goruntime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			c <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWUTS); err != nil {
			c <- result{err: err}
			return
		}
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			c <- result{err: err}
			return
		}
		c <- result{name: string(bytes.TrimRight(u.Nodename[:], "\x00"))}
	}()
	r := <-c
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.name
}

func TestCreate(t *testing.T) {
	skipUnlessRoot(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ipc, uts := filepath.Join(dir, "ipc"), filepath.Join(dir, "uts")
	t.Cleanup(func() {
		unix.Unmount(ipc, unix.MNT_DETACH)
		unix.Unmount(uts, unix.MNT_DETACH)
	})
	hostBefore, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if err := pinIPCAndUTS(ipc, uts, "pod-host-1"); err != nil {
		t.Fatalf("pinIPCAndUTS: %v", err)
	}
	for _, p := range []string{ipc, uts} {
		if ok, err := mountinfo.Mounted(p); err != nil || !ok {
			t.Errorf("%s is not a mount point (err %v)", p, err)
		}
	}
	if got := utsHostname(t, uts); got != "pod-host-1" {
		t.Errorf("hostname in the pinned UTS namespace = %q, want pod-host-1", got)
	}
	if h, _ := os.Hostname(); h != hostBefore {
		t.Errorf("the host's hostname changed from %q to %q", hostBefore, h)
	}
	// New namespaces, not the test process's.
	// New namespaces, not the ones the test's threads run in.
	hostIPC, hostUTS := threadNSInode(t, "ipc"), threadNSInode(t, "uts")
	if nsInode(t, ipc) == hostIPC {
		t.Error("the pinned IPC namespace is the test thread's")
	}
	if nsInode(t, uts) == hostUTS {
		t.Error("the pinned UTS namespace is the test thread's")
	}
	if nsInode(t, ipc) == nsInode(t, uts) {
		t.Error("the IPC and UTS pins are the same file")
	}
	// Pinning over existing files fails instead of stacking namespaces.
	if err := pinIPCAndUTS(ipc, uts, "other"); !errors.Is(err, os.ErrExist) {
		t.Errorf("pinIPCAndUTS over pinned files = %v, want an ErrExist error", err)
	}

	for _, p := range []string{ipc, uts} {
		if err := Remove(p); err != nil {
			t.Fatalf("unpin %s: %v", p, err)
		}
		if ok, _ := mountinfo.Mounted(p); ok {
			t.Errorf("%s still mounted after unpin", p)
		}
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after unpin (err %v)", p, err)
		}
		if err := Remove(p); err != nil {
			t.Errorf("second unpin %s: %v", p, err)
		}
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("mounts left under %s: %q", dir, got)
	}
}

// unpin of a file that was never mounted (a pin that failed midway) removes it.
func TestRemoveUnmountedFile(t *testing.T) {
	skipUnlessRoot(t)
	p := filepath.Join(t.TempDir(), "uts")
	if err := os.WriteFile(p, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := Remove(p); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists (err %v)", p, err)
	}
}

// pinIPCAndUTS must not leave any thread of the calling process in the pod's namespaces:
// when its locked goroutine happens to run on the main thread, the Go runtime cannot end that
// thread and parks it instead, still in the pod's namespaces. /proc/PID/ns of the process
// then shows the pod's namespaces, and the parked thread keeps them alive after unpin.
func TestCreateLeavesMainThread(t *testing.T) {
	skipUnlessRoot(t)
	dir := t.TempDir()
	// Several pins in one process: the main thread runs one of the goroutines in practice.
	for i := range 4 {
		ipc, uts := filepath.Join(dir, "ipc"+strconv.Itoa(i)), filepath.Join(dir, "uts"+strconv.Itoa(i))
		if err := pinIPCAndUTS(ipc, uts, "h"); err != nil {
			t.Fatal(err)
		}
		ii, ui := nsInode(t, ipc), nsInode(t, uts)
		t.Cleanup(func() { Remove(ipc); Remove(uts) })
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			for kind, pinned := range map[string]uint64{"ipc": ii, "uts": ui} {
				var st unix.Stat_t
				if err := unix.Stat("/proc/self/task/"+e.Name()+"/ns/"+kind, &st); err != nil {
					continue // the thread ended meanwhile
				}
				if st.Ino == pinned {
					t.Fatalf("thread %s of the process is in the pod's %s namespace", e.Name(), kind)
				}
			}
		}
	}
}
