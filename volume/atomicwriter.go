package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minipod/minipod/podconfig"
)

// The kubelet's AtomicWriter layout (pkg/volume/util/atomic_writer.go): the files live in a
// hidden timestamped directory, ..data is a symlink to it, and each top-level name of the
// volume is a symlink into ..data. An update writes a new timestamped directory and swaps
// ..data with one rename, so a reader sees the old files or the new ones, never a mix; a
// program can watch ..data with inotify to learn of updates.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"

	maxFileNameLength = 255
	maxPathLength     = 4096
)

// WriteAtomic projects payload into dir (which exists) as the kubelet's AtomicWriter.Write
// does: nothing is written when every file already has its content and no file is gone;
// otherwise a new timestamped directory is filled, setPerms (if set) is applied with its
// name, ..data is swapped to it, the user-visible symlinks are added and removed, and the
// old directory is deleted. Paths may not start with "..": those names are the writer's.
// It reports whether the files changed.
func WriteAtomic(dir string, payload podconfig.Payload, setPerms func(tsDir string) error) (bool, error) {
	clean := make(podconfig.Payload, len(payload))
	for p, f := range payload {
		if err := validatePayloadPath(p); err != nil {
			return false, err
		}
		clean[filepath.Clean(p)] = f
	}
	dataDirPath := filepath.Join(dir, dataDirName)
	oldTsDir, err := os.Readlink(dataDirPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", dataDirPath, err)
	}
	oldTsPath := filepath.Join(dir, oldTsDir)

	var remove []string
	write := true
	if oldTsDir != "" {
		if remove, err = pathsToRemove(clean, oldTsPath); err != nil {
			return false, err
		}
		changed, err := payloadChanged(clean, oldTsPath)
		if err != nil {
			return false, err
		}
		if !changed && len(remove) == 0 {
			// Up to date; the user-visible links are made again below all the same
			// (kubernetes#121472), and the data directory stays.
			write, oldTsDir = false, ""
		}
	}

	if write {
		tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
		if err != nil {
			return false, fmt.Errorf("create data directory in %s: %w", dir, err)
		}
		// 0755 whatever the umask, so that any user of the container can walk the tree.
		if err := os.Chmod(tsDir, 0o755); err != nil {
			os.RemoveAll(tsDir)
			return false, fmt.Errorf("create data directory in %s: %w", dir, err)
		}
		tsDirName := filepath.Base(tsDir)
		if err := writePayload(clean, tsDir); err != nil {
			os.RemoveAll(tsDir)
			return false, err
		}
		if setPerms != nil {
			if err := setPerms(tsDirName); err != nil {
				os.RemoveAll(tsDir)
				return false, err
			}
		}
		newDataDirPath := filepath.Join(dir, newDataDirName)
		os.Remove(newDataDirPath) // left by a writer that died between the two steps
		if err := os.Symlink(tsDirName, newDataDirPath); err != nil {
			os.RemoveAll(tsDir)
			return false, fmt.Errorf("link new data directory: %w", err)
		}
		if err := os.Rename(newDataDirPath, dataDirPath); err != nil {
			os.Remove(newDataDirPath)
			os.RemoveAll(tsDir)
			return false, fmt.Errorf("swap data directory: %w", err)
		}
	}
	if err := createUserVisibleFiles(dir, clean); err != nil {
		return write, err
	}
	var errs []error
	for _, p := range remove {
		// Only the links at the root: what is below them went with the old directory.
		if !strings.Contains(p, "/") {
			if err := os.Remove(filepath.Join(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove old visible path: %w", err))
			}
		}
	}
	if oldTsDir != "" {
		if err := os.RemoveAll(oldTsPath); err != nil {
			errs = append(errs, fmt.Errorf("remove old data directory: %w", err))
		}
	}
	return write, errors.Join(errs...)
}

// validatePayloadPath is the writer's validatePath: relative, at most 4096 bytes, no ".."
// element, names of at most 255 bytes, not starting with "..".
func validatePayloadPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("invalid path: must not be empty: %q", p)
	case filepath.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case len(p) > maxPathLength:
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPathLength)
	}
	items := strings.Split(p, "/")
	for _, it := range items {
		if it == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(it) > maxFileNameLength {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxFileNameLength)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// payloadChanged reports whether a file of the payload is missing from the old data
// directory or has other content there (modes are not compared, as the kubelet does not).
func payloadChanged(payload podconfig.Payload, oldTsDir string) (bool, error) {
	for p, f := range payload {
		old, err := os.ReadFile(filepath.Join(oldTsDir, p))
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", p, err)
		}
		if !bytes.Equal(old, f.Data) {
			return true, nil
		}
	}
	return false, nil
}

// pathsToRemove lists what the old data directory holds that the payload does not (the
// payload's parent directories count as held).
func pathsToRemove(payload podconfig.Payload, oldTsDir string) ([]string, error) {
	keep := map[string]bool{}
	for p := range payload {
		for sub := p; sub != "." && sub != "/" && sub != ""; sub = filepath.Dir(sub) {
			keep[sub] = true
		}
	}
	var out []string
	err := filepath.WalkDir(oldTsDir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(oldTsDir, p)
		if rel != "." && !keep[rel] {
			out = append(out, rel)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list old data directory: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

func writePayload(payload podconfig.Payload, dir string) error {
	for p, f := range payload {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), os.ModePerm); err != nil {
			return fmt.Errorf("create directory of %s: %w", p, err)
		}
		mode := os.FileMode(f.Mode) & os.ModePerm
		if err := os.WriteFile(full, f.Data, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		// WriteFile's mode is masked by the umask; the file gets exactly its mode.
		if err := os.Chmod(full, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// createUserVisibleFiles links each top-level name of the payload into ..data: for "a/b",
// a -> ..data/a.
func createUserVisibleFiles(dir string, payload podconfig.Payload) error {
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		visible := filepath.Join(dir, top)
		if _, err := os.Readlink(visible); errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink(filepath.Join(dataDirName, top), visible); err != nil {
				return fmt.Errorf("link %s: %w", top, err)
			}
		}
	}
	return nil
}
