//go:build integration

package integration

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BenchmarkImagePull: a 3-layer image (busybox plus two 3 MB random layers) from a registry
// on 127.0.0.1 into an empty store (cold), and again when it is present (warm: the pull only
// checks the manifest).
func BenchmarkImagePull(b *testing.B) {
	e := newEnv(b)
	reg := startRegistry(b)
	ref := reg + "/bench/pull:1"
	var extra []v1.Layer
	for range 2 {
		l, err := random.Layer(3<<20, types.OCILayer)
		if err != nil {
			b.Fatal(err)
		}
		extra = append(extra, l)
	}
	push(b, ref, buildImage(b, v1.Config{}, time.Now(), extra...))
	for range b.N {
		var cold, warm []time.Duration
		for range benchRounds {
			t0 := time.Now()
			e.mustExec(b, "image", "pull", "-q", ref)
			cold = append(cold, time.Since(t0))
			t0 = time.Now()
			e.mustExec(b, "image", "pull", "-q", ref)
			warm = append(warm, time.Since(t0))
			e.mustExec(b, "image", "rm", ref)
			e.mustExec(b, "image", "prune")
		}
		report(b, "image pull, 3 layers / 8 MB, cold", "ms-cold", cold)
		report(b, "image pull, present (manifest check)", "ms-warm", warm)
	}
}

// BenchmarkImagePodStart: the 2-container pod of BenchmarkPodStart from a registry image that
// is already present, to compare with rootfs:; then the disk an extra container adds.
func BenchmarkImagePodStart(b *testing.B) {
	e := newEnv(b)
	reg := startRegistry(b)
	ref := reg + "/bench/busybox:1"
	push(b, ref, buildImage(b, v1.Config{}, time.Now()))
	e.mustExec(b, "image", "pull", "-q", ref)
	for range b.N {
		start, _ := measureStarts(b, e, idlePod("bench", ref))
		report(b, "2-container pod from a present image", "ms-start", start)

		// Disk: one pod running, then a second pod (2 more containers) from the same image.
		first := e.run(idlePod("disk1", ref))
		e.waitRunning(b, "disk1", "a", "b")
		before := diskKB(b, e.rootDir)
		second := e.run(idlePod("disk2", ref))
		e.waitRunning(b, "disk2", "a", "b")
		after := diskKB(b, e.rootDir)
		fmt.Printf("%-44s %8d KB per container (image layers are shared)\n", "disk added by another container", (after-before)/2)
		b.ReportMetric(float64(after-before)/2, "KB-disk/container")
		for _, r := range []*runProc{first, second} {
			r.signal(2)
			r.wait(b, time.Minute)
		}
	}
}

// diskKB is the disk space used below dir, in KiB, as du counts it; -x leaves out the
// containers' mounted root filesystems, which would count the shared image again.
func diskKB(b testing.TB, dir string) int64 {
	out, err := exec.Command("du", "-skx", dir).Output()
	if err != nil {
		b.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
