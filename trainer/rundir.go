package trainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/entrolab/entrolab/internal/atomicfile"
)

// MarkerFile is the file entrolab writes into every run directory it makes.
// Only a directory holding it is ever removed (--force, a sweep cell, a run
// killed before its first checkpoint); anything else is refused by path.
const MarkerFile = ".entrolab-run"

const markerText = "entrolab-run/1\nThis directory was made by entrolab; `entrolab train --force` may delete it.\n"

// ErrNotRunDir is returned when a directory entrolab would remove lacks the marker.
var ErrNotRunDir = errors.New("not a run directory made by entrolab (no " + MarkerFile + " marker); entrolab deletes only what it made: remove or move it yourself")

// WriteMarker marks dir as an entrolab run directory.
func WriteMarker(dir string) error {
	p := filepath.Join(dir, MarkerFile)
	if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
		return nil
	}
	return atomicfile.Write(p, []byte(markerText))
}

// IsRunDir reports whether dir carries entrolab's marker (a regular file,
// not a link, in a directory that is not a link itself).
func IsRunDir(dir string) bool {
	st, err := os.Lstat(filepath.Clean(dir))
	if err != nil || !st.IsDir() {
		return false
	}
	m, err := os.Lstat(filepath.Join(dir, MarkerFile))
	if err != nil || !m.Mode().IsRegular() || m.Size() > 4096 {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	return err == nil && strings.HasPrefix(string(b), "entrolab-run/")
}

// CheckRemovable says whether dir may be deleted: it must be an entrolab run
// directory (the marker), not a symbolic link, and hold neither the working
// directory nor the file system root.
func CheckRemovable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("trainer: %s is a symbolic link; entrolab does not delete through links", dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("trainer: %s is not a directory", dir)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	if real == "/" || real == filepath.Dir(real) {
		return fmt.Errorf("trainer: refusing to delete %s (the file system root)", dir)
	}
	if wd, err := os.Getwd(); err == nil {
		if w, err := filepath.EvalSymlinks(wd); err == nil && (w == real || strings.HasPrefix(w, real+string(filepath.Separator))) {
			return fmt.Errorf("trainer: refusing to delete %s: it holds the working directory %s", dir, wd)
		}
	}
	if !IsRunDir(abs) {
		return fmt.Errorf("trainer: %s: %w", dir, ErrNotRunDir)
	}
	return nil
}

// RemoveRunDir deletes dir after CheckRemovable allows it.
func RemoveRunDir(dir string) error {
	if err := CheckRemovable(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// runFiles are the entries of a run directory entrolab writes to.
var runFiles = []string{"metrics.jsonl", "samples.jsonl", "config.yaml", "config_history.jsonl", "provenance.jsonl", "status.json", "checkpoints", "plots", MarkerFile, LockFile}

// CheckNoLinks refuses a run directory whose files entrolab writes are
// symbolic links (a write would land outside the run).
func CheckNoLinks(dir string, names ...string) error {
	if len(names) == 0 {
		names = runFiles
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("trainer: %s is a symbolic link; entrolab does not write through links inside a run directory (replace it with a real file or directory)", p)
		}
	}
	return nil
}

// checkWritable refuses a read-only file that a run would replace.
func checkWritable(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("trainer: %s is not a regular file", path)
	}
	if st.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("trainer: %s is read-only; entrolab will not replace it (make it writable to resume)", path)
	}
	return nil
}
