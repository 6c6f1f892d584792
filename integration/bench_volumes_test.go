//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// volumesPod is idlePod with a claim and an image volume mounted in both containers.
func volumesPod(name, image, volumeImage string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: bench}}
  - {name: tools, image: {reference: "%s", pullPolicy: IfNotPresent}}
  containers:
  - name: a
    image: "%s"
    command: [sleep, "100000"]
    volumeMounts: [{name: data, mountPath: /data}, {name: tools, mountPath: /tools}]
  - name: b
    image: "%s"
    command: [sleep, "100000"]
    volumeMounts: [{name: data, mountPath: /data}, {name: tools, mountPath: /tools, subPath: dir}]
`, name, volumeImage, image, image)
}

// BenchmarkPodStartVolumes: the 2-container bench pod without and with a claim and an image
// volume, rounds alternating, from `minipod run` to both containers running and from SIGINT
// to everything torn down. With MINIPOD_BIN_B set to another build, the plain pod is also
// started with that one (an A/B of the cost of the code when no pod uses it).
func BenchmarkPodStartVolumes(b *testing.B) {
	e := newEnv(b)
	img := "rootfs:" + rootfsDir
	art := filepath.Join(e.dir, "artifact")
	if err := os.MkdirAll(filepath.Join(art, "dir"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(art, "dir", "file"), []byte("1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	e.mustExec(b, "image", "import", art, "bench-tools:1")
	type variant struct{ name, unit, manifest, bin string }
	variants := []variant{
		{"plain", "plain", idlePod("bench", img), ""},
		{"claim + image volume", "volumes", volumesPod("bench", img, "bench-tools:1"), ""},
	}
	if other := os.Getenv("MINIPOD_BIN_B"); other != "" {
		variants = append(variants, variant{"plain (B)", "plain-B", idlePod("bench", img), other})
	}
	for range b.N {
		start := make([][]time.Duration, len(variants))
		stop := make([][]time.Duration, len(variants))
		for range benchRounds {
			for i, v := range variants {
				s, t := measureStartOnce(b, e, v.manifest, v.bin)
				start[i], stop[i] = append(start[i], s), append(stop[i], t)
			}
		}
		for i, v := range variants {
			report(b, "2-container pod, "+v.name+": run to all running", "ms-start-"+v.unit, start[i])
			report(b, "2-container pod, "+v.name+": SIGINT to torn down", "ms-teardown-"+v.unit, stop[i])
		}
	}
}
