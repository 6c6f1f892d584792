//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/minipod/minipod/api"
)

// ---------------------------------------------------------------------------------------------
// reading cgroups back

// cgroupV2 reports whether the host is cgroup v2 unified.
func cgroupV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// cgroupMounts maps each v1 controller to its hierarchy's mount point (from mountinfo).
func cgroupMounts(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, pf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(pf) < 3 || pf[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(pf[2], ",") {
			out[opt] = fields[4]
		}
	}
	return out
}

// cgroupDir is the host directory of the cgroup of process pid for a controller (v1), or of
// its unified cgroup (v2).
func cgroupDir(t testing.TB, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("cgroup of pid %d: %v", pid, err)
	}
	mounts := cgroupMounts(t)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if cgroupV2() && parts[0] == "0" {
			return filepath.Join("/sys/fs/cgroup", parts[2])
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join(mounts[controller], parts[2])
			}
		}
	}
	t.Fatalf("pid %d has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// cgValues are a cgroup's CPU and memory settings, as the kubelet's values: shares (on v2
// the weight), quota -1 for none, memory and memory+swap -1 for unlimited.
type cgValues struct {
	shares, quota, period, memory, memSwap int64
}

// expect converts the kubelet's values to what this host shows: a weight for the shares on
// cgroup v2, and no memory+swap limit where swap is not accounted.
func expect(v cgValues) cgValues {
	if cgroupV2() {
		v.shares = int64(cgroups.ConvertCPUSharesToCgroupV2Value(uint64(v.shares)))
	}
	if !swapAccounted() {
		v.memSwap = -1
	}
	return v
}

// swapAccounted reports whether the memory controller accounts swap (memsw on v1,
// memory.swap.max on v2).
func swapAccounted() bool {
	if cgroupV2() {
		cg, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
		if err != nil {
			return false
		}
		_, err = os.Stat(filepath.Join("/sys/fs/cgroup", cg[""], "memory.swap.max"))
		return err == nil
	}
	mnt, err := cgroups.FindCgroupMountpoint("", "memory")
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(mnt, "memory.memsw.limit_in_bytes"))
	return err == nil
}

func (v cgValues) String() string {
	return fmt.Sprintf("shares=%d quota=%d period=%d memory=%d memsw=%d", v.shares, v.quota, v.period, v.memory, v.memSwap)
}

func readInt(t testing.TB, dir, file string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("read cgroup file: %v", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s/%s = %q", dir, file, s)
	}
	return n
}

// readCgroup reads the values of the cgroup of pid, or of its parent (the pod's) with
// parent set.
func readCgroup(t testing.TB, pid int, parent bool) cgValues {
	t.Helper()
	dir := func(c string) string {
		d := cgroupDir(t, pid, c)
		if parent {
			d = filepath.Dir(d)
		}
		return d
	}
	var v cgValues
	if cgroupV2() {
		d := dir("")
		v.shares = readInt(t, d, "cpu.weight") // compared with expect's conversion
		b, _ := os.ReadFile(filepath.Join(d, "cpu.max"))
		f := strings.Fields(string(b))
		v.quota, v.period = -1, 0
		if len(f) == 2 {
			if f[0] != "max" {
				v.quota, _ = strconv.ParseInt(f[0], 10, 64)
			}
			v.period, _ = strconv.ParseInt(f[1], 10, 64)
		}
		v.memory = readInt(t, d, "memory.max")
		v.memSwap = -1
		if v.memory != -1 {
			if s := readInt(t, d, "memory.swap.max"); s != -1 {
				v.memSwap = v.memory + s
			}
		}
		return v
	}
	cpu, mem := dir("cpu"), dir("memory")
	v.shares = readInt(t, cpu, "cpu.shares")
	v.quota = readInt(t, cpu, "cpu.cfs_quota_us")
	v.period = readInt(t, cpu, "cpu.cfs_period_us")
	unlimited := func(n int64) int64 {
		if n >= 1<<62 { // the page-rounded "no limit"
			return -1
		}
		return n
	}
	v.memory = unlimited(readInt(t, mem, "memory.limit_in_bytes"))
	v.memSwap = -1
	if _, err := os.Stat(filepath.Join(mem, "memory.memsw.limit_in_bytes")); err == nil {
		v.memSwap = unlimited(readInt(t, mem, "memory.memsw.limit_in_bytes"))
	}
	return v
}

// containerPID is the pid of the running instance of a container, from its state file.
func (e *env) containerPID(t testing.TB, p *api.Pod, name string) int {
	t.Helper()
	statuses := append(append([]api.ContainerStatus{}, p.Status.ContainerStatuses...), p.Status.InitContainerStatuses...)
	for _, cs := range statuses {
		if cs.Name != name {
			continue
		}
		id := strings.TrimPrefix(cs.ContainerID, "minipod://")
		b, err := os.ReadFile(filepath.Join(e.podDir(p.Metadata.Namespace, p.Metadata.Name), "containers", id+".json"))
		if err != nil {
			t.Fatalf("container %s state: %v", name, err)
		}
		var st struct{ Pid int }
		if err := json.Unmarshal(b, &st); err != nil || st.Pid == 0 {
			t.Fatalf("container %s state %s: %v", name, b, err)
		}
		return st.Pid
	}
	t.Fatalf("pod %s has no container %s", p.Metadata.Name, name)
	return 0
}

func oomScoreAdj(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// minOOMScoreAdj is the lowest oom_score_adj minipod may give here: its own (this process's,
// inherited) without CAP_SYS_RESOURCE.
func minOOMScoreAdj(t testing.TB) int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			caps, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if caps&(1<<unix.CAP_SYS_RESOURCE) != 0 {
				return -1000
			}
		}
	}
	return oomScoreAdj(t, os.Getpid())
}

func memTotal(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	t.Fatal("no MemTotal")
	return 0
}

func mi(n int64) int64 { return n << 20 }

// resources builds container requirements from "name=quantity" lists.
func resources(requests, limits string) api.ResourceRequirements {
	list := func(s string) api.ResourceList {
		if s == "" {
			return nil
		}
		l := api.ResourceList{}
		for _, kv := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = resource.MustParse(v)
		}
		return l
	}
	return api.ResourceRequirements{Requests: list(requests), Limits: list(limits)}
}

func withResources(c api.Container, r api.ResourceRequirements) api.Container {
	c.Resources = r
	return c
}

// ---------------------------------------------------------------------------------------------
// tests

// Container cgroups get CPU shares from requests, a CFS quota from limits, the memory limit
// with swap off, and the QoS class's oom_score_adj; the pod cgroup gets the sums; the status
// has the QoS class. Values are read back from the host's cgroupfs.
func TestResourceCgroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	capacity, minAdj := memTotal(t), minOOMScoreAdj(t)
	burstableAdj := func(req int64) int { return max(min(int(1000-1000*req/capacity), 999), 3) }
	// Memory+swap equals the memory limit: no swap for the container.
	swap := func(limit int64) int64 { return limit }
	sleep := func(name string) api.Container { return sh(name, "exec sleep 100000") }
	type want struct {
		vals cgValues
		adj  int
	}
	tests := []struct {
		name       string
		pod        *api.Pod
		qos        api.PodQOSClass
		containers map[string]want
		podVals    cgValues
	}{
		{name: "burstable", qos: api.PodQOSBurstable,
			pod: newPod("burstable", api.RestartPolicyAlways,
				withResources(sleep("a"), resources("cpu=250m,memory=64Mi", "cpu=500m,memory=128Mi")),
				withResources(sleep("b"), resources("cpu=100m", "memory=32Mi"))),
			containers: map[string]want{
				"a": {cgValues{256, 50000, 100000, mi(128), swap(mi(128))}, burstableAdj(mi(64))},
				// b's memory request defaults to its limit.
				"b": {cgValues{102, -1, 100000, mi(32), swap(mi(32))}, burstableAdj(mi(32))},
			},
			// Not every container has a CPU limit: no pod quota; all have memory limits: the sum.
			podVals: cgValues{358, -1, 100000, mi(160), -1}},
		{name: "guaranteed", qos: api.PodQOSGuaranteed,
			pod: newPod("guaranteed", api.RestartPolicyAlways,
				withResources(sleep("a"), resources("", "cpu=200m,memory=64Mi")),
				withResources(sleep("b"), resources("cpu=100m,memory=32Mi", "cpu=100m,memory=32Mi"))),
			containers: map[string]want{
				"a": {cgValues{204, 20000, 100000, mi(64), swap(mi(64))}, max(-997, minAdj)},
				"b": {cgValues{102, 10000, 100000, mi(32), swap(mi(32))}, max(-997, minAdj)},
			},
			podVals: cgValues{307, 30000, 100000, mi(96), -1}},
		{name: "besteffort", qos: api.PodQOSBestEffort,
			pod:        newPod("besteffort", api.RestartPolicyAlways, sleep("a")),
			containers: map[string]want{"a": {cgValues{2, -1, 100000, -1, -1}, 1000}},
			podVals:    cgValues{2, -1, 100000, -1, -1}},
		{name: "pod-level", qos: api.PodQOSBurstable,
			pod: func() *api.Pod {
				p := newPod("pod-level", api.RestartPolicyAlways, sleep("a"),
					withResources(sleep("b"), resources("memory=32Mi", "memory=64Mi")))
				r := resources("cpu=500m,memory=100Mi", "cpu=1,memory=200Mi")
				p.Spec.Resources = &r
				return p
			}(),
			containers: map[string]want{
				// Without limits of their own, containers get the pod's; without a CPU
				// request, the shares follow the (pod's) limit.
				// The pod's memory request beyond the containers' (100Mi-32Mi) is shared
				// out for the OOM score.
				"a": {cgValues{1024, 100000, 100000, mi(200), swap(mi(200))}, burstableAdj(mi(34))},
				"b": {cgValues{1024, 100000, 100000, mi(64), swap(mi(64))}, burstableAdj(mi(32 + 34))},
			},
			podVals: cgValues{512, 100000, 100000, mi(200), -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e.run(manifest(tt.pod))
			p := e.waitRunning(t, tt.pod.Metadata.Name, "a")
			for name := range tt.containers {
				p = e.waitRunning(t, tt.pod.Metadata.Name, name)
			}
			if p.Status.QOSClass != tt.qos {
				t.Errorf("status.qosClass = %q, want %q", p.Status.QOSClass, tt.qos)
			}
			var pid int
			for name, w := range tt.containers {
				pid = e.containerPID(t, p, name)
				if got, want := readCgroup(t, pid, false), expect(w.vals); got != want {
					t.Errorf("container %s cgroup: %v\nwant                %v", name, got, want)
				}
				if got := oomScoreAdj(t, pid); got != w.adj {
					t.Errorf("container %s oom_score_adj = %d, want %d", name, got, w.adj)
				}
			}
			if !cgroupV2() {
				checkCpusetCloned(t, pid)
			}
			// The pod cgroup's memory+swap is left alone, like the kubelet's.
			got := readCgroup(t, pid, true)
			got.memSwap = -1
			if want := expect(tt.podVals); got != want {
				t.Errorf("pod cgroup: %v\nwant       %v", got, want)
			}
			e.deletePod(t, tt.pod.Metadata.Name)
		})
	}
}

// checkCpusetCloned checks, on cgroup v1, that the kernel gave the cpuset cgroups of the
// container of pid and of its pod the CPUs and memory nodes of the pods' parent
// (cgroup.clone_children on it, so libcontainer writes none of them: README Density).
func checkCpusetCloned(t *testing.T, pid int) {
	t.Helper()
	container := cgroupDir(t, pid, "cpuset")
	pod := filepath.Dir(container)
	parent := filepath.Dir(pod)
	read := func(dir, file string) string {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("read cgroup file: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	if v := read(parent, "cgroup.clone_children"); v != "1" {
		t.Errorf("%s/cgroup.clone_children = %q, want 1", parent, v)
	}
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		want := read(parent, f)
		for _, d := range []string{pod, container} {
			if got := read(d, f); got != want || got == "" {
				t.Errorf("%s/%s = %q, want the parent's %q", d, f, got, want)
			}
		}
	}
}

// A container that allocates past its memory limit ends terminated with reason OOMKilled and
// exit code 137, and the restart policy applies.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hog := withResources(sh("hog", "echo allocating; head -c 209715200 /dev/zero | tail"), resources("", "memory=32Mi"))
	oomKilled := func(s api.ContainerState) bool {
		return s.Terminated != nil && s.Terminated.Reason == "OOMKilled" && s.Terminated.ExitCode == 137
	}
	t.Run("Never", func(t *testing.T) {
		t.Parallel()
		r := e.run(manifest(newPod("oom-never", api.RestartPolicyNever, hog)), "--rm=false")
		if code := e.waitExit(t, r, "oom-never", 90*time.Second); code != 1 {
			t.Errorf("run exited %d, want 1 (pod Failed)", code)
		}
		p := e.status("default", "oom-never")
		cs := ctrStatus(p, "hog")
		if p.Status.Phase != api.PodFailed || cs == nil || !oomKilled(cs.State) {
			t.Errorf("status %s, want phase Failed and hog terminated OOMKilled 137", describe(p))
		}
		if !strings.Contains(r.stderr(), "minipod: container hog Terminated (OOMKilled, exit code 137)") {
			t.Errorf("run did not show the OOM kill:\n%s", r.stderr())
		}
		if row := podRow(e.mustExec(t, "get", "pods").stdout, "oom-never"); len(row) < 3 || row[2] != "OOMKilled" {
			t.Errorf("get pods row %q, want STATUS OOMKilled", row)
		}
		e.deletePod(t, "oom-never")
	})
	t.Run("Always", func(t *testing.T) {
		t.Parallel()
		e.run(manifest(newPod("oom-always", api.RestartPolicyAlways, hog)))
		p := e.waitFor(t, "default", "oom-always", restartsAtLeast("hog", 1), 90*time.Second)
		cs := ctrStatus(p, "hog")
		if !oomKilled(cs.LastState) {
			t.Errorf("hog lastState %+v, want terminated OOMKilled 137", cs.LastState)
		}
		if p.Status.Phase != api.PodRunning {
			t.Errorf("phase %s, want Running (restarted under Always)", p.Status.Phase)
		}
		e.deletePod(t, "oom-always")
	})
}

// capacity returns the host's CPU in millicores and memory in bytes, as minipod reads them.
func hostCapacity(t testing.TB) (milliCPU, memory int64) {
	return int64(runtime.NumCPU()) * 1000, memTotal(t)
}

// assertOnlyRecorded checks that a rejected pod left nothing but its record: the pod's state
// dir (record, status, events, lock, torn-down marker), the admission lock and the clock's
// epoch; no data, logs, mounts, cgroups, bridge or processes.
func assertOnlyRecorded(t testing.TB, e *env, names ...string) {
	t.Helper()
	// The admission lock and the resourceVersion clock's epoch (state.RVEpochFile) are the
	// state directory's, made by the first pod and shared by all.
	allowed := map[string]bool{filepath.Join(e.stateDir, "admission.lock"): true, filepath.Join(e.stateDir, "rv-epoch"): true}
	for _, n := range names {
		for _, f := range []string{"record.json", "status.json", "events.jsonl", "monitor.lock", "torn-down"} {
			allowed[filepath.Join(e.podDir("default", n), f)] = true
		}
	}
	for _, d := range []string{e.stateDir, e.rootDir, e.logDir} {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() && !allowed[p] {
				t.Errorf("created %s", p)
			}
			return nil
		})
	}
	if linkExists(e.bridge) {
		t.Errorf("bridge %s was created", e.bridge)
	}
	for _, d := range cgroupParentDirs(e.cgroupParent) {
		t.Errorf("cgroup dir created: %s", d)
	}
	for _, l := range mountLinesUnder(e.dir) {
		t.Errorf("mount created: %s", l)
	}
	for _, p := range e.processes() {
		t.Errorf("process left: %d %s", p.pid, p.cmdline)
	}
}

// Admission like the kubelet's: a pod whose requests do not fit what the host has left (its
// capacity less --reserved less the requests of the pods that are not finished) is recorded
// Failed with OutOfcpu or OutOfmemory, and nothing else is created.
func TestAdmission(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cpu, mem := hostCapacity(t)
	// Leave 1 CPU and 512Mi for pods.
	reserved := fmt.Sprintf("--reserved=cpu=%dm,memory=%d", cpu-1000, mem-mi(512))
	requesting := func(name, requests string) *api.Pod {
		return newPod(name, api.RestartPolicyAlways, withResources(sh("c", "exec sleep 100000"), resources(requests, "")))
	}

	for _, tc := range []struct {
		name, requests, reason, msg string
	}{
		{"big-cpu", "cpu=1500m", "OutOfcpu", "Node didn't have enough resource: cpu, requested: 1500, used: 0, capacity: 1000"},
		{"big-memory", "memory=1Gi", "OutOfmemory", "Node didn't have enough resource: memory, requested: 1073741824, used: 0, capacity: 536870912"},
	} {
		r := e.run(manifest(requesting(tc.name, tc.requests)), "--rm=false", reserved)
		if code := r.wait(t, 30*time.Second); code != 1 {
			t.Errorf("%s: run exited %d, want 1", tc.name, code)
		}
		want := fmt.Sprintf("minipod: pod default/%s Failed: Pod was rejected: %s", tc.name, tc.msg)
		if !strings.Contains(r.stderr(), want) {
			t.Errorf("%s: run printed\n%s\nwant %q", tc.name, r.stderr(), want)
		}
		p := e.status("default", tc.name)
		if st := p.Status; st.Phase != api.PodFailed || st.Reason != tc.reason || st.Message != "Pod was rejected: "+tc.msg || st.QOSClass != api.PodQOSBurstable {
			t.Errorf("%s: status %s", tc.name, describe(p))
		}
		if ev := eventsWith(e.events(t, "default", tc.name), "", tc.reason, tc.msg); len(ev) != 1 || ev[0].Type != api.EventWarning {
			t.Errorf("%s: events %+v, want one Warning %s", tc.name, e.events(t, "default", tc.name), tc.reason)
		}
		if row := podRow(e.mustExec(t, "get", "pods").stdout, tc.name); len(row) < 3 || row[1] != "0/1" || row[2] != tc.reason {
			t.Errorf("%s: get pods row %q, want 0/1 %s", tc.name, row, tc.reason)
		}
	}
	assertOnlyRecorded(t, e, "big-cpu", "big-memory")
	// A rejected pod is not counted, and `run -d` reports the rejection too.
	r := e.start(manifest(requesting("half", "cpu=600m")), "run", "-d", reserved, "-")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run -d half: exit %d: %s", code, r.stderr())
	}
	r = e.start(manifest(requesting("other-half", "cpu=600m")), "run", "-d", reserved, "-")
	if code := r.wait(t, 60*time.Second); code != 1 || !strings.Contains(r.stderr(),
		"pod default/other-half failed: OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu, requested: 600, used: 600, capacity: 1000") {
		t.Errorf("run -d other-half: exit %d, stderr:\n%s", code, r.stderr())
	}
	// Once the first pod is gone, its CPU is free again.
	e.deletePod(t, "half")
	e.deletePod(t, "other-half")
	r = e.start(manifest(requesting("other-half", "cpu=600m")), "run", "-d", reserved, "-")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Errorf("run -d other-half after half was deleted: exit %d: %s", code, r.stderr())
	}
	e.deletePod(t, "other-half")
	for _, n := range []string{"big-cpu", "big-memory"} {
		e.deletePod(t, n)
	}

	// Concurrent creates are admitted one at a time: only one of these fits.
	const n = 4
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		name := fmt.Sprintf("race%d", i)
		rp := e.start(manifest(requesting(name, "cpu=600m")), "run", "-d", reserved, "-")
		wg.Go(func() { codes[i] = rp.wait(t, 90*time.Second) })
	}
	wg.Wait()
	admitted := 0
	for i, c := range codes {
		p := e.status("default", fmt.Sprintf("race%d", i))
		switch {
		case c == 0:
			admitted++
		case c == 1 && p != nil && p.Status.Reason == "OutOfcpu":
		default:
			t.Errorf("race%d: run -d exit %d, status %s", i, c, describe(p))
		}
	}
	if admitted != 1 {
		t.Errorf("%d of %d concurrent pods admitted, want 1 (each asks for more than half)", admitted, n)
	}
}

// Huge pages and extended resources are refused as bad input: nothing on this host provides
// them.
func TestResourcesRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, res, want string }{
		{"hugepages", "{limits: {hugepages-2Mi: 4Mi, memory: 64Mi}}", `spec.containers[0].resources.limits[hugepages-2Mi]: Unsupported value: "hugepages-2Mi": not supported: this host sets no huge pages aside for pods`},
		{"extended", "{limits: {example.com/gpu: 1}}", `spec.containers[0].resources.limits[example.com/gpu]: Unsupported value: "example.com/gpu": not supported: no device plugin on this host provides extended resources`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: r}\nspec:\n  containers:\n  - name: c\n    image: %s\n    resources: %s\n", rootfsImage(), tc.res)
			r := e.start(m, "run", "-")
			if code := r.wait(t, 30*time.Second); code != 2 || !strings.Contains(r.stderr(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, r.stderr(), tc.want)
			}
			assertNothingCreated(t, e)
		})
	}
}

// Local storage limits as the kubelet's eviction manager enforces them: a disk emptyDir over
// its sizeLimit, or a container over its ephemeral-storage limit, evicts the pod (Failed,
// reason Evicted, no restart); a memory emptyDir is a tmpfs no larger than the pod's memory
// limit.
func TestLocalStorageLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	limit := resource.MustParse("1Mi")
	evicted := func(t *testing.T, name, container, msg string) {
		t.Helper()
		p := e.waitFor(t, "default", name, func(p *api.Pod) bool {
			cs := ctrStatus(p, container)
			return p.Status.Phase == api.PodFailed && cs != nil && cs.State.Terminated != nil
		}, 60*time.Second)
		if st := p.Status; st.Reason != "Evicted" || st.Message != msg {
			t.Errorf("status reason %q message %q, want Evicted %q", st.Reason, st.Message, msg)
		}
		if cs := ctrStatus(p, container); cs.RestartCount != 0 {
			t.Errorf("%s restarted %d times after the eviction", container, cs.RestartCount)
		}
		if ev := eventsWith(e.events(t, "default", name), "", "Evicted", msg); len(ev) != 1 || ev[0].Type != api.EventWarning {
			t.Errorf("events %+v, want one Warning Evicted", e.events(t, "default", name))
		}
		e.deletePod(t, name)
	}
	t.Run("emptyDir", func(t *testing.T) {
		t.Parallel()
		p := newPod("fill", api.RestartPolicyAlways, sh("c", "dd if=/dev/zero of=/cache/f bs=1M count=4; exec sleep 100000"))
		p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "cache", MountPath: "/cache"}}
		p.Spec.Volumes = []api.Volume{{Name: "cache", EmptyDir: &api.EmptyDirVolumeSource{SizeLimit: &limit}}}
		e.run(manifest(p), "--rm=false")
		evicted(t, "fill", "c", `Usage of EmptyDir volume "cache" exceeds the limit "1Mi". `)
	})
	scribbler := func(name, limit string) api.Container {
		return withResources(sh(name, "dd if=/dev/zero of=/tmp/f bs=1M count=4; exec sleep 100000"), resources("", "ephemeral-storage="+limit))
	}
	t.Run("ephemeral-storage pod", func(t *testing.T) {
		t.Parallel()
		// The pod's total is checked before each container's, as the kubelet does.
		e.run(manifest(newPod("scribble", api.RestartPolicyAlways, scribbler("c", "1Mi"))), "--rm=false")
		evicted(t, "scribble", "c", "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi. ")
	})
	t.Run("ephemeral-storage container", func(t *testing.T) {
		t.Parallel()
		p := newPod("scribble2", api.RestartPolicyAlways, scribbler("c", "1Mi"),
			withResources(sh("roomy", "exec sleep 100000"), resources("", "ephemeral-storage=100Mi")))
		e.run(manifest(p), "--rm=false")
		evicted(t, "scribble2", "c", `Container c exceeded its local ephemeral storage limit "1Mi". `)
	})
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		p := newPod("tmpfs", api.RestartPolicyNever,
			withResources(sh("c", "df -k /mem | tail -n 1"), resources("", "memory=64Mi")))
		p.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "mem", MountPath: "/mem"}}
		p.Spec.Volumes = []api.Volume{{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory}}}
		r := e.run(manifest(p))
		if code := e.waitExit(t, r, "tmpfs", 60*time.Second); code != 0 {
			t.Fatalf("run exited %d: %s", code, r.stderr())
		}
		if l := r.lines("c"); len(l) != 1 || len(strings.Fields(l[0])) < 2 || strings.Fields(l[0])[1] != "65536" {
			t.Errorf("df of the memory emptyDir: %q, want a 65536 KiB tmpfs (the pod's memory limit)", l)
		}
	})
}
