//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
)

// stressScript stands in for polinux/stress: `stress --vm N --vm-bytes SIZE --vm-hang S`
// runs N workers that each allocate and touch SIZE of memory (dd's buffer), free it, sleep S
// seconds, and again. A worker killed by the OOM killer ends the container with the
// worker's status, as the whole container dies of an OOM kill under cgroup v2's
// memory.oom.group.
const stressScript = `#!/bin/sh
vm=0 bytes=256M hang=0
while [ $# -gt 0 ]; do
	case "$1" in
	--vm) vm=$2; shift ;;
	--vm-bytes) bytes=$2; shift ;;
	--vm-hang) hang=$2; shift ;;
	esac
	shift
done
echo "stress: info: [$$] dispatching hogs: 0 cpu, 0 io, $vm vm, 0 hdd"
worker() {
	while :; do
		dd if=/dev/zero of=/dev/null bs="$bytes" count=1 2>/dev/null || return $?
		sleep "$hang"
	done
}
i=1
while [ "$i" -lt "$vm" ]; do worker & i=$((i + 1)); done
[ "$vm" -gt 0 ] && worker
rc=$?
echo "stress: FAIL: [$$] <-- worker got signal $((rc - 128))" >&2
exit $rc
`

// vishStressScript stands in for vish/stress: -cpus N keeps N CPUs busy until stopped.
const vishStressScript = `#!/bin/sh
cpus=0
while [ $# -gt 0 ]; do
	case "$1" in
	-cpus) cpus=$2; shift ;;
	-cpus=*) cpus=${1#-cpus=} ;;
	esac
	shift
done
trap 'exit 0' TERM INT
i=0
while [ "$i" -lt "$cpus" ]; do (while :; do :; done) & i=$((i + 1)); done
echo "burning $cpus CPUs"
wait
`

// resourceExampleImages are the images of the resource and QoS examples not among
// exampleImages.
var resourceExampleImages = []exampleImage{
	{names: []string{"polinux/stress"}, files: map[string]string{"/usr/local/bin/stress": stressScript},
		changes: []string{`CMD ["stress", "--help"]`}},
	{names: []string{"vish/stress"}, files: map[string]string{"/stress": vishStressScript},
		changes: []string{`ENTRYPOINT ["/stress", "-logtostderr"]`}},
	{names: []string{"redis"},
		files:   map[string]string{"/usr/local/bin/redis-server": "#!/bin/sh\ntrap 'exit 0' TERM INT\nsleep 2147483647 &\nwait\n"},
		changes: []string{`CMD ["redis-server"]`}},
	{names: []string{"fedora"}, changes: []string{`CMD ["/bin/bash"]`}},
}

// peakMemory is the highest memory use of the cgroup of pid (v1 max_usage_in_bytes, v2
// memory.peak).
func peakMemory(t testing.TB, pid int) int64 {
	if cgroupV2() {
		return readInt(t, cgroupDir(t, pid, ""), "memory.peak")
	}
	return readInt(t, cgroupDir(t, pid, "memory"), "memory.max_usage_in_bytes")
}

// The resource and QoS examples of the Kubernetes documentation run unmodified, with local
// images of the names they use, and do what the documentation says, as the kubelet does it
// on one node: where the documentation shows a pod left Pending by the scheduler (a request
// larger than any node), the kubelet's admission rejects it.
func TestDocsResourceExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	buildExampleImages(t, e)
	buildImages(t, e, "resimage", resourceExampleImages)
	start := func(t *testing.T, path string) *runProc {
		return e.run(readExample(t, path), "--rm=false")
	}
	waitRunning := func(t *testing.T, ns, name string, containers ...string) *api.Pod {
		t.Helper()
		return e.waitFor(t, ns, name, func(p *api.Pod) bool {
			if p.Status.Phase == api.PodFailed {
				t.Fatalf("pod %s failed: %s", name, describe(p))
			}
			return running(containers...)(p)
		}, 60*time.Second)
	}
	remove := func(t *testing.T, ns, name string) {
		t.Helper()
		if res := e.exec("delete", "pod", name, "-n", ns, "--grace-period=1"); res.code != 0 {
			t.Errorf("delete pod %s: %s", name, res.stderr)
		}
	}
	rejected := func(t *testing.T, path, ns, name, reason, msgPrefix string) {
		t.Helper()
		r := start(t, path)
		if code := r.wait(t, 30*time.Second); code != 1 {
			t.Errorf("run exited %d, want 1", code)
		}
		p := e.status(ns, name)
		if st := p.Status; st.Phase != api.PodFailed || st.Reason != reason || !strings.HasPrefix(st.Message, "Pod was rejected: "+msgPrefix) {
			t.Errorf("status %s, want Failed %s %q", describe(p), reason, msgPrefix)
		}
		if fi, err := os.Stat(filepath.Join(e.rootDir, "pods", p.Metadata.UID)); err == nil {
			t.Errorf("a rejected pod got a data dir %s", fi.Name())
		}
		remove(t, ns, name)
	}
	t.Run("group", func(t *testing.T) {
		t.Run("memory-request-limit", func(t *testing.T) {
			t.Parallel()
			// stress allocates 150M within the 200Mi limit and keeps running.
			start(t, "pods/resource/memory-request-limit.yaml")
			p := waitRunning(t, "mem-example", "memory-demo", "memory-demo-ctr")
			pid := e.containerPID(t, p, "memory-demo-ctr")
			if v := readCgroup(t, pid, false); v.memory != mi(200) {
				t.Errorf("memory limit %d, want 200Mi", v.memory)
			}
			deadline := time.Now().Add(30 * time.Second)
			for peakMemory(t, pid) < mi(150) {
				if time.Now().After(deadline) {
					t.Fatalf("peak memory %d, want stress's 150M", peakMemory(t, pid))
				}
				time.Sleep(200 * time.Millisecond)
			}
			if p := e.status("mem-example", "memory-demo"); p.Status.QOSClass != api.PodQOSBurstable || ctrStatus(p, "memory-demo-ctr").RestartCount != 0 {
				t.Errorf("status %s, want Burstable and no restart", describe(p))
			}
			remove(t, "mem-example", "memory-demo")
		})
		t.Run("memory-request-limit-2", func(t *testing.T) {
			t.Parallel()
			// Over its 100Mi limit: OOMKilled, exit code 137, restarted.
			start(t, "pods/resource/memory-request-limit-2.yaml")
			p := e.waitFor(t, "mem-example", "memory-demo-2", restartsAtLeast("memory-demo-2-ctr", 1), 90*time.Second)
			lt := ctrStatus(p, "memory-demo-2-ctr").LastState.Terminated
			if lt == nil || lt.Reason != "OOMKilled" || lt.ExitCode != 137 {
				t.Errorf("lastState %+v, want terminated OOMKilled with exit code 137", lt)
			}
			remove(t, "mem-example", "memory-demo-2")
		})
		t.Run("memory-request-limit-3", func(t *testing.T) {
			t.Parallel()
			// 1000Gi fits no node: the scheduler leaves it Pending, the kubelet rejects it.
			rejected(t, "pods/resource/memory-request-limit-3.yaml", "mem-example", "memory-demo-3", "OutOfmemory",
				"Node didn't have enough resource: memory, requested: 1073741824000, used: ")
		})
		t.Run("cpu-request-limit-2", func(t *testing.T) {
			t.Parallel()
			rejected(t, "pods/resource/cpu-request-limit-2.yaml", "cpu-example", "cpu-demo-2", "OutOfcpu",
				"Node didn't have enough resource: cpu, requested: 100000, used: ")
		})
		// The examples that request CPU run one after another: together they ask for more
		// than a 2-CPU host has, and admission would refuse some.
		t.Run("cpu-requests", func(t *testing.T) {
			t.Parallel()
			cpuRequestExamples(t, e, start, waitRunning, remove)
		})
		t.Run("qos/no-cpu-requests", func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				file, name string
				containers []string
				qos        api.PodQOSClass
			}{
				{"qos-pod-2.yaml", "qos-demo-2", []string{"qos-demo-2-ctr"}, api.PodQOSBurstable},
				{"qos-pod-3.yaml", "qos-demo-3", []string{"qos-demo-3-ctr"}, api.PodQOSBestEffort},
				{"qos-pod-4.yaml", "qos-demo-4", []string{"qos-demo-4-ctr-1", "qos-demo-4-ctr-2"}, api.PodQOSBurstable},
			} {
				start(t, "pods/qos/"+tc.file)
				if p := waitRunning(t, "qos-example", tc.name, tc.containers...); p.Status.QOSClass != tc.qos {
					t.Errorf("%s: qosClass %q, want %q", tc.file, p.Status.QOSClass, tc.qos)
				}
				remove(t, "qos-example", tc.name)
			}
		})
	})
}

// cpuRequestExamples runs, one at a time, the examples whose pods request CPU.
func cpuRequestExamples(t *testing.T, e *env, start func(*testing.T, string) *runProc,
	waitRunning func(t *testing.T, ns, name string, containers ...string) *api.Pod, remove func(t *testing.T, ns, name string)) {
	t.Run("cpu-request-limit", func(t *testing.T) {
		// stress -cpus 2 is held to its 1 CPU limit (the CFS quota).
		start(t, "pods/resource/cpu-request-limit.yaml")
		p := waitRunning(t, "cpu-example", "cpu-demo", "cpu-demo-ctr")
		pid := e.containerPID(t, p, "cpu-demo-ctr")
		if got, want := readCgroup(t, pid, false), expect(cgValues{512, 100000, 100000, -1, -1}); got != want {
			t.Errorf("cpu-demo-ctr cgroup %v, want %v", got, want)
		}
		if got, want := readCgroup(t, pid, true), expect(cgValues{512, 100000, 100000, -1, -1}); got != want {
			t.Errorf("cpu-demo pod cgroup %v, want %v", got, want)
		}
		remove(t, "cpu-example", "cpu-demo")
	})
	t.Run("pod-level-cpu-request-limit", func(t *testing.T) {
		// The same limit at pod level: the container, without limits of its own, gets the
		// pod's quota (and, without a request, shares from that limit).
		start(t, "pods/resource/pod-level-cpu-request-limit.yaml")
		p := waitRunning(t, "pod-resources-example", "cpu-demo", "cpu-demo-ctr")
		pid := e.containerPID(t, p, "cpu-demo-ctr")
		if got, want := readCgroup(t, pid, false), expect(cgValues{1024, 100000, 100000, -1, -1}); got != want {
			t.Errorf("pod-level cpu-demo-ctr cgroup %v, want %v", got, want)
		}
		if got, want := readCgroup(t, pid, true), expect(cgValues{512, 100000, 100000, -1, -1}); got != want {
			t.Errorf("pod-level cpu-demo pod cgroup %v, want %v", got, want)
		}
		if p.Status.QOSClass != api.PodQOSBurstable {
			t.Errorf("qosClass %q, want Burstable", p.Status.QOSClass)
		}
		remove(t, "pod-resources-example", "cpu-demo")
	})
	for _, tc := range []struct {
		file, name string
		containers []string
		qos        api.PodQOSClass
	}{
		{"qos-pod.yaml", "qos-demo", []string{"qos-demo-ctr"}, api.PodQOSGuaranteed},
		{"qos-pod-5.yaml", "qos-demo-5", []string{"qos-demo-ctr-5"}, api.PodQOSGuaranteed},
	} {
		t.Run("qos/"+tc.file, func(t *testing.T) {
			start(t, "pods/qos/"+tc.file)
			p := waitRunning(t, "qos-example", tc.name, tc.containers...)
			if p.Status.QOSClass != tc.qos {
				t.Errorf("qosClass %q, want %q", p.Status.QOSClass, tc.qos)
			}
			if tc.qos == api.PodQOSGuaranteed {
				// 700m and 200Mi: the pod cgroup gets the container's values.
				pid := e.containerPID(t, p, tc.containers[0])
				got := readCgroup(t, pid, true)
				got.memSwap = -1
				if want := expect(cgValues{716, 70000, 100000, mi(200), -1}); got != want {
					t.Errorf("pod cgroup %v, want %v", got, want)
				}
			}
			remove(t, "qos-example", tc.name)
		})
	}
	t.Run("multi-container/resources", func(t *testing.T) {
		// The pod's size is max(init container, sidecar + app): requests 350m and 192Mi
		// (the sidecar counted once), memory limits 192Mi.
		start(t, "pods/multi-container/resources.yaml")
		p := waitRunning(t, "default", "resources-example", "app")
		if p.Status.QOSClass != api.PodQOSBurstable {
			t.Errorf("qosClass %q, want Burstable", p.Status.QOSClass)
		}
		pid := e.containerPID(t, p, "app")
		if got, want := readCgroup(t, pid, false), expect(cgValues{307, -1, 100000, mi(128), mi(128)}); got != want {
			t.Errorf("app cgroup %v, want %v", got, want)
		}
		got := readCgroup(t, pid, true)
		got.memSwap = -1
		if want := expect(cgValues{358, -1, 100000, mi(192), -1}); got != want {
			t.Errorf("pod cgroup %v, want %v", got, want)
		}
		if got, want := readCgroup(t, e.containerPID(t, p, "log-shipper"), false), expect(cgValues{51, -1, 100000, mi(64), mi(64)}); got != want {
			t.Errorf("log-shipper cgroup %v, want %v", got, want)
		}
		remove(t, "default", "resources-example")
	})
	t.Run("pod-level-resources", func(t *testing.T) {
		// Pod-level limits 1 CPU and 200Mi: the limited container keeps its own, the
		// other gets the pod's.
		start(t, "pods/resource/pod-level-resources.yaml")
		p := waitRunning(t, "pod-resources-example", "pod-resources-demo", "pod-resources-demo-ctr-1", "pod-resources-demo-ctr-2")
		if p.Status.QOSClass != api.PodQOSBurstable {
			t.Errorf("qosClass %q, want Burstable", p.Status.QOSClass)
		}
		pid1, pid2 := e.containerPID(t, p, "pod-resources-demo-ctr-1"), e.containerPID(t, p, "pod-resources-demo-ctr-2")
		if got, want := readCgroup(t, pid1, false), expect(cgValues{512, 50000, 100000, mi(100), mi(100)}); got != want {
			t.Errorf("ctr-1 cgroup %v, want %v", got, want)
		}
		if got, want := readCgroup(t, pid2, false), expect(cgValues{1024, 100000, 100000, mi(200), mi(200)}); got != want {
			t.Errorf("ctr-2 cgroup %v, want %v", got, want)
		}
		got := readCgroup(t, pid1, true)
		got.memSwap = -1
		if want := expect(cgValues{1024, 100000, 100000, mi(200), -1}); got != want {
			t.Errorf("pod cgroup %v, want %v", got, want)
		}
		remove(t, "pod-resources-example", "pod-resources-demo")
	})
}
