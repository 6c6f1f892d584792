package atomicfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	if err := WriteJSON(p, map[string]string{"name": "a"}, 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("}\n")) {
		t.Errorf("file does not end with a newline: %q", b)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil || got["name"] != "a" {
		t.Errorf("round trip = %v, %v", got, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	assertOnlyFile(t, dir, "status.json")

	// A value that cannot be marshalled leaves the old file intact and no temp file.
	if err := WriteJSON(p, map[string]any{"f": func() {}}, 0o644); err == nil {
		t.Error("WriteJSON of a func: want an error")
	}
	if b2, _ := os.ReadFile(p); !bytes.Equal(b, b2) {
		t.Errorf("a failed write changed the file: %q", b2)
	}
	assertOnlyFile(t, dir, "status.json")

	// A directory that does not exist: an error naming the path, nothing created.
	err = WriteJSON(filepath.Join(dir, "missing", "x.json"), 1, 0o644)
	if err == nil || !strings.Contains(err.Error(), "missing/x.json") {
		t.Errorf("write into a missing directory: %v, want an error naming the file", err)
	}
	assertOnlyFile(t, dir, "status.json")
}

// A reader polling the file while it is rewritten sees one complete version or the other,
// never a torn or empty file.
func TestWriteConcurrentReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	type doc struct {
		Gen   int      `json:"gen"`
		Items []string `json:"items"`
	}
	// Versions alternate between small and large so a torn read would be caught by the parser
	// or by the length check.
	small, large := []string{"x"}, make([]string, 300)
	for i := range large {
		large[i] = strings.Repeat("x", 16)
	}
	itemsOf := func(gen int) []string {
		if gen%2 == 1 {
			return large
		}
		return small
	}
	version := func(gen int) doc { return doc{Gen: gen, Items: itemsOf(gen)} }
	if err := WriteJSON(p, version(0), 0o644); err != nil {
		t.Fatal(err)
	}
	const writes = 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		lastGen := 0
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(p)
			if err != nil {
				readErr = err
				return
			}
			var d doc
			if err := json.Unmarshal(b, &d); err != nil {
				readErr = errors.New("torn read: " + err.Error())
				return
			}
			if want := len(itemsOf(d.Gen)); len(d.Items) != want {
				readErr = errors.New("version with the wrong number of items")
				return
			}
			if d.Gen < lastGen {
				readErr = errors.New("a read went back in time")
				return
			}
			lastGen = d.Gen
			reads++
		}
	}()
	var writeErr error
	for gen := 1; gen <= writes; gen++ {
		if writeErr = WriteJSON(p, version(gen), 0o644); writeErr != nil {
			break
		}
	}
	close(done)
	wg.Wait()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if readErr != nil {
		t.Fatalf("after %d good reads: %v", reads, readErr)
	}
	if reads == 0 {
		t.Fatal("the reader never read the file")
	}
	var d doc
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &d); err != nil || d.Gen != writes {
		t.Errorf("final file: gen %d, err %v; want gen %d", d.Gen, err, writes)
	}
	assertOnlyFile(t, dir, "status.json")
}

func assertOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Errorf("%s holds %q, want only %q (no temp files)", dir, names, name)
	}
}
