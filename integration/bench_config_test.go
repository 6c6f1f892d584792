//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// configPod is idlePod with its ConfigMap and Secret in the same manifest: a configMap and a
// secret volume on each container, and a variable from the ConfigMap.
func configPod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: bench-cfg}
data: {conf: "v1", level: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: bench-sec}
stringData: {token: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - {name: cfg, configMap: {name: bench-cfg}}
  - {name: sec, secret: {secretName: bench-sec}}
  containers:
  - name: a
    image: "%s"
    command: [sleep, "100000"]
    env: [{name: LEVEL, valueFrom: {configMapKeyRef: {name: bench-cfg, key: level}}}]
    volumeMounts: [{name: cfg, mountPath: /cfg}, {name: sec, mountPath: /sec}]
  - name: b
    image: "%s"
    command: [sleep, "100000"]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
`, name, image, image)
}

// issuePod is the pod whose start cost the issue asks for: the 2-container bench pod with
// resources, seccomp RuntimeDefault and a configMap volume (its ConfigMap in the same run).
func issuePod(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: bench-cfg}
data: {conf: "v1"}
---
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  volumes:
  - {name: cfg, configMap: {name: bench-cfg}}
  containers:
  - name: a
    image: "%s"
    command: [sleep, "100000"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  - name: b
    image: "%s"
    command: [sleep, "100000"]
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 500m, memory: 64Mi}}
`, name, image, image)
}

// BenchmarkPodStartConfig: the 2-container bench pod without and with ConfigMap and Secret
// volumes and env (the objects stored by the same `run`), and with resources, seccomp
// RuntimeDefault and a configMap volume (issuePod), rounds alternating, from `minipod run` to
// both containers running. MINIPOD_BIN_B adds the plain pod started by another build.
func BenchmarkPodStartConfig(b *testing.B) {
	e := newEnv(b)
	img := "rootfs:" + rootfsDir
	type variant struct{ name, unit, manifest, bin string }
	variants := []variant{
		{"plain", "plain", idlePod("bench", img), ""},
		{"configMap+secret volumes and env", "config", configPod("bench", img), ""},
		{"resources+RuntimeDefault seccomp+configMap volume", "issue", issuePod("bench", img), ""},
	}
	if other := os.Getenv("MINIPOD_BIN_B"); other != "" {
		variants = append(variants, variant{"plain (B)", "plain-B", idlePod("bench", img), other})
	}
	for range b.N {
		start := make([][]time.Duration, len(variants))
		for range benchRounds {
			for i, v := range variants {
				s, _ := measureStartOnce(b, e, v.manifest, v.bin)
				start[i] = append(start[i], s)
			}
		}
		for i, v := range variants {
			report(b, "2-container pod, "+v.name+": run to all running", "ms-start-"+v.unit, start[i])
		}
	}
}

// BenchmarkIdlePodMemoryConfig: BenchmarkIdlePodMemory for pods with configMap and secret
// volumes, whose monitors watch the objects for updates.
func BenchmarkIdlePodMemoryConfig(b *testing.B) {
	measureIdleMemory(b, ", configMap+secret volumes", configPod)
}

// BenchmarkConfigUpdate: from `minipod run cm.yaml` replacing a ConfigMap to its new content
// in the volume of a running pod (read on the host, where the container reads it).
func BenchmarkConfigUpdate(b *testing.B) {
	e := newEnv(b)
	r := e.run(configPod("bench", "rootfs:"+rootfsDir), "-d")
	if code := r.wait(b, time.Minute); code != 0 {
		b.Fatalf("run -d: exit %d: %s", code, r.stderr())
	}
	p := e.status("default", "bench")
	file := filepath.Join(e.rootDir, "pods", p.Metadata.UID, "volumes", "cfg", "conf")
	for range b.N {
		var d []time.Duration
		for i := range benchRounds {
			want := fmt.Sprintf("v%d", i+2)
			m := e.writeFiles(b, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bench-cfg}\ndata: {conf: %q, level: debug}\n", want))[0]
			t0 := time.Now()
			e.mustExec(b, "run", m)
			for {
				if got, _ := os.ReadFile(file); string(got) == want {
					break
				}
				if time.Since(t0) > 30*time.Second {
					b.Fatalf("%s never showed %q", file, want)
				}
				time.Sleep(time.Millisecond)
			}
			d = append(d, time.Since(t0))
		}
		report(b, "ConfigMap replaced: run to new file content", "ms-update", d)
	}
	e.deletePod(b, "bench")
}
