//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minipod/minipod/api"
	"github.com/minipod/minipod/state"
)

// BenchmarkDaemon: the daemon's memory, idle and with 100 pods; `kubectl get pods` on 100
// pods (the request's time over the unix socket, and kubectl's whole run); how long a status
// change takes to reach a watcher; and a pod's start through the API against `minipod run -d`.
func BenchmarkDaemon(b *testing.B) {
	e := newEnv(b)
	d := e.startDaemon(b)
	hc := d.unixClient()
	for range b.N {
		time.Sleep(2 * time.Second)
		fmt.Printf("%-44s %7.1f MB RSS\n", "idle daemon, no pods", rssMB(d.pid()))
		b.ReportMetric(rssMB(d.pid()), "MB-idle-rss")

		// Start: the API against run -d, alternating.
		var viaAPI, viaRun []time.Duration
		for range benchRounds / 2 {
			t0 := time.Now()
			resp := apiCall(b, hc, "POST", "/api/v1/namespaces/default/pods", "application/yaml", idlePod("bench", rootfsImage()))
			if resp.StatusCode != 201 {
				b.Fatalf("create: %d", resp.StatusCode)
			}
			waitBothRunning(b, e)
			viaAPI = append(viaAPI, time.Since(t0))
			deleteBench(b, e)

			t0 = time.Now()
			r := e.run(idlePod("bench", rootfsImage()), "-d")
			waitBothRunning(b, e)
			viaRun = append(viaRun, time.Since(t0))
			r.wait(b, time.Minute)
			deleteBench(b, e)
		}
		report(b, "2-container pod: API create to all running", "ms-api-start", viaAPI)
		report(b, "2-container pod: run -d to all running", "ms-run-start", viaRun)

		// 100 pods.
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range 100 {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				m := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: p%03d}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {name: c, image: %q, command: [sleep, \"100000\"]}\n", i, rootfsImage())
				if resp := apiCall(b, hc, "POST", "/api/v1/namespaces/default/pods", "application/yaml", m); resp.StatusCode != 201 {
					b.Errorf("create p%03d: %d", i, resp.StatusCode)
				}
			})
		}
		wg.Wait()
		for i := range 100 {
			e.waitFor(b, "default", fmt.Sprintf("p%03d", i), running("c"), 2*time.Minute)
		}
		time.Sleep(2 * time.Second)
		fmt.Printf("%-44s %7.1f MB RSS\n", "daemon with 100 running pods", rssMB(d.pid()))
		b.ReportMetric(rssMB(d.pid()), "MB-100pods-rss")
		var gets, kubectls []time.Duration
		for range benchRounds {
			t0 := time.Now()
			req, _ := http.NewRequest("GET", "http://localhost/api/v1/namespaces/default/pods?limit=500", nil)
			req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			gets = append(gets, time.Since(t0))
			if n < 10000 {
				b.Fatalf("a table of 100 pods in %d bytes", n)
			}
			t0 = time.Now()
			d.mustKubectl(b, "get", "pods")
			kubectls = append(kubectls, time.Since(t0))
		}
		report(b, "get pods (Table, 100 pods), over the socket", "ms-list100", gets)
		report(b, "kubectl get pods (100 pods), whole run", "ms-kubectl-list100", kubectls)

		// Watch latency: each status a crash-looping pod's monitor writes carries its
		// resourceVersion, a reading of the clock the watcher reads on arrival.
		clock, err := state.OpenRVClock(e.stateDir)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3Dflappy", nil)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		flappy := newPod("flappy", api.RestartPolicyAlways, sh("c", "exit 1"))
		flappy.Spec.TerminationGracePeriodSeconds = int64p(0)
		apiCall(b, hc, "POST", "/api/v1/namespaces/default/pods", "application/json", manifest(flappy))
		var lat []time.Duration
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for len(lat) < 4*benchRounds && sc.Scan() {
			now := clock.Now()
			var ev struct {
				Type   string  `json:"type"`
				Object api.Pod `json:"object"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Type != "MODIFIED" {
				continue
			}
			rv, _ := strconv.ParseUint(ev.Object.Metadata.ResourceVersion, 10, 64)
			lat = append(lat, time.Duration(now-rv))
		}
		cancel()
		resp.Body.Close()
		if len(lat) < benchRounds {
			b.Fatalf("%d status changes seen", len(lat))
		}
		report(b, "status write to a watcher (API watch)", "ms-watch", lat)
	}
}

func rssMB(pid int) float64 {
	var m memUse
	m.add(pid)
	return m.rss / 1024
}

func apiCall(b testing.TB, hc *http.Client, method, path, ctype, body string) *http.Response {
	req, _ := http.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func waitBothRunning(b testing.TB, e *env) {
	path := e.statusPath("default", "bench")
	deadline := time.Now().Add(time.Minute)
	for !bothRunning(path) {
		if time.Now().After(deadline) {
			b.Fatalf("bench pod never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deleteBench(b testing.TB, e *env) {
	if res := e.exec("delete", "pod", "bench"); res.code != 0 {
		b.Fatalf("delete: %s", res.stderr)
	}
	for {
		if _, err := os.Stat(e.podDir("default", "bench")); err != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
