// Package pods is what a command does with pods: create one (persist its record, start its
// monitor), follow it, list, delete, and collect what dead monitors left behind. The pods
// themselves are run by their monitors (package monitor); everything here works from the
// state directory, so any process can do it, whoever created the pod.
package pods

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"golang.org/x/sys/unix"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/atomicfile"
	"github.com/minipod/minipod/hostlimit"
	"github.com/minipod/minipod/monitorapi"
	"github.com/minipod/minipod/sandbox"
	"github.com/minipod/minipod/state"
)

var (
	ErrPodExists   = errors.New("pod already exists")
	ErrPodNotFound = errors.New("pod not found")
)

// Handle is a pod started by this process.
type Handle struct {
	Cfg  state.Config
	Pod  api.Pod // as recorded, with its uid
	Dir  string
	pid  int           // the monitor's, a child of this process
	done chan struct{} // closed when the monitor exits
	err  error         // the monitor's exit status
}

// MonitorName is the per-pod monitor's binary, installed beside minipod's: a separate
// program that links only what supervising a pod needs, since every monitor (and every
// container init, which re-executes it) pays in memory and start-up time for what it links.
const MonitorName = "minipod-monitor"

// MonitorExe finds the monitor binary: cfg.MonitorPath (--monitor-path) if set, else
// beside this program's own.
func MonitorExe(cfg state.Config) (string, error) {
	p := cfg.MonitorPath
	if p == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find %s: %w", MonitorName, err)
		}
		p = filepath.Join(filepath.Dir(self), MonitorName)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find the pod monitor (build minipod and %s with make, or set --monitor-path): %w", MonitorName, err)
	}
	return p, nil
}

// CLIEnv names the minipod CLI to the monitor, which runs it as its image helper (see
// monitor/images.go): the monitor may be installed elsewhere (--monitor-path).
const CLIEnv = "MINIPOD_CLI"

// CLIPath is the minipod CLI binary named to monitors in CLIEnv; empty: this program, which
// is minipod itself unless another program (the daemon) creates pods and sets it.
var CLIPath string

// Create admits a validated pod as the kubelet does (see admit), records it and starts its
// monitor, which then creates the sandbox and the containers. Nothing is created on the host
// before the record is persisted, so a crash at any point leaves something that names what
// to release. A pod that does not fit is recorded Failed and nothing else is created: the
// error is then a *RejectedError.
func Create(cfg state.Config, pod *api.Pod) (*Handle, error) {
	exe, err := MonitorExe(cfg)
	if err != nil {
		return nil, err
	}
	self := CLIPath
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find minipod's own binary: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.PodsDir(), 0o700); err != nil {
		return nil, err
	}
	p := *pod
	p.Metadata.UID = state.NewUID()
	now := api.NewTime(time.Now())
	p.Metadata.CreationTimestamp = &now
	// The API server sets the QoS class on create (PrepareForCreate).
	p.Status = api.PodStatus{Phase: api.PodPending, QOSClass: api.ComputePodQOS(&p.Spec)}
	clock, err := state.OpenRVClock(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	p.Metadata.ResourceVersion = state.FormatRV(clock.Next())
	// Admission and the record that makes the pod count for the next one go together.
	unlockAdmission, err := lockAdmission(cfg)
	if err != nil {
		return nil, err
	}
	defer func() { unlockAdmission() }()
	dir := cfg.PodDir(p.Metadata.Namespace, p.Metadata.Name)
	rejection, err := admit(cfg, &p)
	if err != nil {
		return nil, fmt.Errorf("admit pod %s/%s: %w", p.Metadata.Namespace, p.Metadata.Name, err)
	}
	if rejection != nil {
		p.Status = rejectedStatus(&p, rejection)
	}
	err = os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) && removeAbandoned(dir) {
		err = os.Mkdir(dir, 0o700)
	}
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("pod %s/%s: %w (remove it with: minipod delete pod %s -n %s)",
				p.Metadata.Namespace, p.Metadata.Name, ErrPodExists, p.Metadata.Name, p.Metadata.Namespace)
		}
		return nil, err
	}
	unlock, err := lockHostPorts(cfg, &p)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer unlock()
	lock, err := os.OpenFile(filepath.Join(dir, state.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX)
	}
	if err == nil {
		err = atomicfile.WriteJSON(filepath.Join(dir, state.RecordFile), &state.Record{Config: cfg, Pod: p}, 0o600)
	}
	if err == nil {
		err = atomicfile.WriteJSON(filepath.Join(dir, state.StatusFile), &p, 0o644)
	}
	if err == nil && rejection != nil {
		// Rejected: recorded, and nothing else is created (kubelet.go rejectPod).
		if err = recordRejection(dir, rejection); err == nil {
			lock.Close()
			h := &Handle{Cfg: cfg, Pod: p, Dir: dir, done: make(chan struct{})}
			close(h.done)
			return nil, &RejectedError{Handle: h, Pod: &p}
		}
	}
	if err == nil {
		// Once per installation: what the monitor mounts in its own namespace stays there.
		err = sandbox.PrepareMountRoots(cfg)
	}
	var logf *os.File
	if err == nil {
		logf, err = os.OpenFile(filepath.Join(dir, state.MonitorLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	unlockAdmission()
	unlockAdmission = func() {}
	// The lock is inherited: the monitor holds it from its first instruction, so nobody
	// mistakes a starting pod for one whose monitor died.
	cmd := exec.Command(exe, "monitor", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), CLIEnv+"="+self)
	cmd.ExtraFiles = []*os.File{lock}
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	err = cmd.Start()
	lock.Close()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pod monitor: %w", hostlimit.Files("fork", hostlimit.Processes("fork", err)))
	}
	h := &Handle{Cfg: cfg, Pod: p, Dir: dir, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		h.err = cmd.Wait()
		close(h.done)
	}()
	return h, nil
}

// removeAbandoned removes the directory of a pod whose creation never finished, and says
// whether it did: no process holds the pod's lock (its creator takes it right after making
// the directory and holds it until the monitor inherits it) and it has no status (written
// before the creator lets go of admission). That is what a creator killed midway leaves (a
// daemon's SIGKILL); kept, it would answer every later create of the name with "already
// exists" while no pod of that name can be found. The caller holds the admission lock,
// which a creator holds from before making the directory until the status is written.
func removeAbandoned(dir string) bool {
	if state.MonitorAlive(dir) || exists(filepath.Join(dir, state.StatusFile)) {
		return false
	}
	return os.RemoveAll(dir) == nil
}

// Resume is Create's handle in a process that replaced the one that called Create
// (execve keeps the pid, so the monitor, monitorPID, is still its child): it reads the pod's
// record from dir and waits for the monitor.
func Resume(dir string, monitorPID int) (*Handle, error) {
	rec, err := state.ReadRecord(dir)
	if err != nil {
		return nil, err
	}
	proc, err := os.FindProcess(monitorPID)
	if err != nil {
		return nil, fmt.Errorf("find pod monitor %d: %w", monitorPID, err)
	}
	h := &Handle{Cfg: rec.Config, Pod: rec.Pod, Dir: dir, pid: monitorPID, done: make(chan struct{})}
	go func() {
		st, err := proc.Wait()
		switch {
		case err != nil:
			h.err = fmt.Errorf("wait for pod monitor %d: %w", monitorPID, err)
		case !st.Success():
			h.err = &exec.ExitError{ProcessState: st}
		}
		close(h.done)
	}()
	return h, nil
}

// MonitorPID is the pod's monitor, a child of this process.
func (h *Handle) MonitorPID() int { return h.pid }

func (h *Handle) record() *state.Record { return &state.Record{Config: h.Cfg, Pod: h.Pod} }

// Done is closed when the pod's monitor has exited (the pod ended and was torn down).
func (h *Handle) Done() <-chan struct{} { return h.done }

// Err is the monitor's exit status, valid after Done.
func (h *Handle) Err() error { return h.err }

// Stop asks the monitor to stop the pod gracefully and keep its status and logs.
func (h *Handle) Stop() error { return requestStop(h.Dir, state.StopRequest{}) }

// Status reads the pod's current status file.
func (h *Handle) Status() (*api.Pod, error) { return state.ReadStatus(h.Dir) }

// Remove deletes the pod's state and logs; the monitor must have exited.
func (h *Handle) Remove() error { return removePod(h.Dir, h.record()) }

// LogDir is where the pod's container logs are written.
func (h *Handle) LogDir() string { return h.record().LogDir() }

// removePod releases what the pod may still hold, then deletes its state and logs. If the
// release fails, the record stays, so that a later delete (or the garbage collector) can
// retry what failed.
func removePod(dir string, rec *state.Record) error {
	if !state.TornDown(dir) {
		if err := sandbox.Release(rec); err != nil {
			return err
		}
	}
	return errors.Join(os.RemoveAll(rec.LogDir()), os.RemoveAll(dir))
}

// LogFile is the log file of one instance of a container of a pod (as read from its status
// file).
func LogFile(cfg state.Config, p *api.Pod, container string, restartCount int32) string {
	return (&state.Record{Config: cfg, Pod: *p}).LogFile(container, restartCount)
}

// List returns the status of every pod on this host, sorted by namespace and name. A pod
// whose monitor died without tearing down is reported Unknown.
func List(cfg state.Config) ([]*api.Pod, error) {
	return list(cfg, func() func(string) (*api.Pod, error) { return state.ReadStatus })
}

// ListSummaries is List with only what kubectl's columns show (kubeprint.Pod): the metadata,
// the status, and of the spec only the containers' names and the init containers'
// restartPolicy. Decoding a whole pod is most of `get pods` with hundreds of them; this takes
// half the time.
func ListSummaries(cfg state.Config) ([]*api.Pod, error) {
	return list(cfg, func() func(string) (*api.Pod, error) {
		var buf []byte // one per worker: the statuses are read one after another
		return func(dir string) (*api.Pod, error) {
			p, b, err := readSummary(dir, buf[:0])
			buf = b
			return p, err
		}
	})
}

// podSummary is what ListSummaries decodes of a status file.
type podSummary struct {
	Metadata api.ObjectMeta `json:"metadata"`
	Spec     struct {
		Containers []struct {
			Name string `json:"name"`
		} `json:"containers"`
		InitContainers []struct {
			Name          string                      `json:"name"`
			RestartPolicy *api.ContainerRestartPolicy `json:"restartPolicy"`
		} `json:"initContainers"`
	} `json:"spec"`
	Status api.PodStatus `json:"status"`
}

// readSummary decodes the summary of the status in dir, read into buf, which it returns for
// the next read (decoding copies what it keeps).
func readSummary(dir string, buf []byte) (*api.Pod, []byte, error) {
	b, err := state.AppendStatusBytes(dir, buf)
	if err != nil {
		return nil, buf, err
	}
	var s podSummary
	// go-json-experiment's decoder (encoding/json v2) in one pass, where encoding/json
	// validates the input and then decodes it: `get pods` on 1,000 pods 25 % faster (README
	// Density). As lenient as encoding/json, which wrote the file.
	if err := json.Unmarshal(b, &s, jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)); err != nil {
		return nil, b, fmt.Errorf("read %s: %w", filepath.Join(dir, state.StatusFile), err)
	}
	p := &api.Pod{APIVersion: "v1", Kind: "Pod", Metadata: s.Metadata, Status: s.Status}
	for _, c := range s.Spec.Containers {
		p.Spec.Containers = append(p.Spec.Containers, api.Container{Name: c.Name})
	}
	for _, c := range s.Spec.InitContainers {
		p.Spec.InitContainers = append(p.Spec.InitContainers, api.Container{Name: c.Name, RestartPolicy: c.RestartPolicy})
	}
	return p, b, nil
}

// list reads every pod with a reader made by newReader for each worker.
func list(cfg state.Config, newReader func() func(dir string) (*api.Pod, error)) ([]*api.Pod, error) {
	entries, err := os.ReadDir(cfg.PodsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Reading and decoding the status files is most of `get pods` with hundreds of pods:
	// spread over every CPU.
	found := make([]*api.Pod, len(entries))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(entries)/32))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			read := newReader()
			for i := w; i < len(entries); i += workers {
				dir := filepath.Join(cfg.PodsDir(), entries[i].Name())
				p, err := read(dir)
				if err != nil {
					continue // being created or removed
				}
				// The directory was there a moment ago: MarkUnknown's rule without its check.
				if monitorStateOf(dir) == MonitorDied {
					p.Status.Phase = api.PodUnknown
				}
				found[i] = p
			}
		})
	}
	wg.Wait()
	pods := slices.DeleteFunc(found, func(p *api.Pod) bool { return p == nil })
	sort.Slice(pods, func(i, j int) bool {
		a, b := pods[i].Metadata, pods[j].Metadata
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name // etcd's key order
	})
	return pods, nil
}

// Delete stops a pod gracefully (grace overrides terminationGracePeriodSeconds when not
// nil) and removes it; without wait it returns once the stop has been asked for, and the
// monitor removes the pod when it has stopped it. It also cleans up a pod whose monitor is
// gone. A pod being created is stopped as soon as its monitor starts; a later delete with a
// shorter grace period shortens a stop under way.
func Delete(cfg state.Config, namespace, name string, grace *int64, wait bool) error {
	dir := cfg.PodDir(namespace, name)
	if !exists(dir) {
		return fmt.Errorf("pod %s/%s: %w", namespace, name, ErrPodNotFound)
	}
	if state.MonitorAlive(dir) {
		if err := requestStop(dir, state.StopRequest{GracePeriodSeconds: grace, Remove: true}); err != nil {
			if !exists(dir) {
				return nil // removed meanwhile, by its monitor or another delete: gone as asked
			}
			return err
		}
		if !wait {
			return nil
		}
		if err := waitMonitor(dir); err != nil {
			return err
		}
	}
	rec, err := state.ReadRecord(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return os.RemoveAll(dir)
		}
		return err
	}
	return removePod(dir, rec)
}

// requestStop asks the pod's monitor to stop the pod: through its socket; a monitor that is
// not listening yet gets the request on disk (it reads it after it starts listening and
// before it creates anything), and the socket is tried once more for one that started
// listening meanwhile, so that no request is lost between the two. A running monitor, the
// common case, is asked with no file written.
func requestStop(dir string, req state.StopRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := func() error {
		err := monitorapi.NewClient(dir).Stop(ctx, req.GracePeriodSeconds, req.Remove)
		if err != nil && !monitorapi.IsKind(err, monitorapi.Unavailable) {
			return fmt.Errorf("stop pod: %w", err)
		}
		return err
	}
	err := stop()
	if err == nil || !monitorapi.IsKind(err, monitorapi.Unavailable) {
		return err
	}
	if err := state.RequestStop(dir, req); err != nil {
		return fmt.Errorf("request pod stop: %w", err)
	}
	if err := stop(); err != nil && !monitorapi.IsKind(err, monitorapi.Unavailable) {
		return err
	}
	return nil
}

// waitMonitor waits until the pod's monitor has exited: its lock goes with it. Waiting on the
// lock itself needs no polling.
func waitMonitor(dir string) error {
	f, err := os.Open(filepath.Join(dir, state.LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed with the pod
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
