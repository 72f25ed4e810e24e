package sweep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
)

// Issue 12: a sweep name becomes a directory: "../../../x" is refused.
func TestSweepNameIsSafe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	for _, n := range []string{"../../../x", "a/b", ".."} {
		os.WriteFile(p, []byte("name: "+n+"\nexperiments: [grpo_addition]\n"), 0o644)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "name") {
			t.Errorf("sweep name %q: %v", n, err)
		}
	}
}

// Issue 12: a sweep onto an existing folder it did not make refuses,
// naming it, and deletes nothing; a cell entrolab made that stopped before
// its first checkpoint (it carries trainer.MarkerFile) restarts.
func TestSweepKeepsForeignFolders(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	os.WriteFile("s.yaml", []byte(`name: tiny
experiments: [grpo_addition]
seeds: [1]
set: ["train.steps=1", "eval.problems=8", "eval.every=0", "base.checkpoint=`+policytest.BaseDir()+`"]
`), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// a folder of the sweep's name that is the user's
	os.MkdirAll(c.Out, 0o755)
	os.WriteFile(filepath.Join(c.Out, "notes.txt"), []byte("mine"), 0o644)
	var log bytes.Buffer
	if err := Execute(context.Background(), c, &log); err == nil || !strings.Contains(err.Error(), c.Out) {
		t.Fatalf("sweep onto a foreign folder: %v\n%s", err, log.String())
	}
	if b, err := os.ReadFile(filepath.Join(c.Out, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the user's file is gone: %v", err)
	}
	os.RemoveAll(c.Out)
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	cell := filepath.Join(c.Out, "grpo_addition-s1")
	// the cell stopped before its first checkpoint, with a file of the user's in it
	os.RemoveAll(filepath.Join(cell, "checkpoints"))
	os.WriteFile(filepath.Join(cell, "notes.txt"), []byte("mine"), 0o644)
	if err := Execute(context.Background(), c, &log); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("cell with a foreign file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cell, "notes.txt")); err != nil {
		t.Fatal("the user's file in the cell is gone")
	}
	os.Remove(filepath.Join(cell, "notes.txt"))
	log.Reset()
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatalf("restart of a cell without checkpoint: %v\n%s", err, log.String())
	}
	if !trainer.IsRunDir(cell) {
		t.Fatal("cell has no run marker")
	}
}
