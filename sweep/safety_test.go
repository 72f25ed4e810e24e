package sweep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy/policytest"
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

// Issue 12: a sweep onto an existing folder of a cell's name that entrolab
// did not make refuses, naming it, and deletes nothing.
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
	cell := filepath.Join(c.Out, "grpo_addition-s1")
	os.MkdirAll(cell, 0o755)
	os.WriteFile(filepath.Join(cell, "notes.txt"), []byte("mine"), 0o644)
	var log bytes.Buffer
	err = Execute(context.Background(), c, &log)
	if err == nil || !strings.Contains(err.Error(), cell) {
		t.Fatalf("sweep onto a foreign folder: %v\n%s", err, log.String())
	}
	if b, err := os.ReadFile(filepath.Join(cell, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the user's file is gone: %v", err)
	}
	// once the folder is gone the cell runs; killed before its first
	// checkpoint (simulated: checkpoints removed) it restarts without --force
	os.RemoveAll(cell)
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	os.RemoveAll(filepath.Join(cell, "checkpoints"))
	os.MkdirAll(filepath.Join(cell, "checkpoints"), 0o755)
	log.Reset()
	if err := Execute(context.Background(), c, &log); err != nil || !strings.Contains(log.String(), "note") {
		t.Fatalf("restart of a cell without checkpoint: %v\n%s", err, log.String())
	}
}
