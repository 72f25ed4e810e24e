package trainer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A process killed while opening a fresh run, before the marker landed,
// leaves the lock, an empty checkpoints directory or the marker's temporary
// file: running it again starts the run (TestKill9AtRandomPoints hit this
// window about once in ten runs). Anything else still refuses.
func TestOpenAfterKillWhileOpening(t *testing.T) {
	for _, leftovers := range [][]string{{"checkpoints/"}, {LockFile, "checkpoints/"}, {"." + MarkerFile + ".123.tmp"}} {
		dir := filepath.Join(t.TempDir(), "run")
		for _, n := range leftovers {
			p := filepath.Join(dir, n)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if n[len(n)-1] == '/' {
				os.MkdirAll(p, 0o755)
			} else if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Open(testConfig(nil), dir, false, false, nil)
		if err != nil {
			t.Fatalf("%v left: %v", leftovers, err)
		}
		r.Close()
		if !IsRunDir(dir) {
			t.Fatalf("%v left: no marker after Open", leftovers)
		}
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "checkpoints", "step_000002"), 0o755)
	if _, err := Open(testConfig(nil), dir, false, false, nil); !errors.Is(err, ErrRunExists) {
		t.Fatalf("a directory with a checkpoint and no marker: %v, want ErrRunExists", err)
	}
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := Open(testConfig(nil), dir, false, false, nil); !errors.Is(err, ErrRunExists) {
		t.Fatalf("a directory with a user's file: %v, want ErrRunExists", err)
	}
}
