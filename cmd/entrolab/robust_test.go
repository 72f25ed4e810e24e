package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy/policytest"
)

// Issue 12: eval -n -1 used to panic (makeslice); out-of-range flags are
// errors naming the flag.
func TestEvalFlagBounds(t *testing.T) {
	for _, args := range [][]string{{"-n", "-1"}, {"-n", "0"}, {"--k", "-1"}, {"--k", "100000000"}, {"--max-new-tokens", "0"}, {"--temperature", "0"}} {
		out, err := execute(t, append([]string{"eval", "--ckpt", policytest.BaseDir()}, args...)...)
		if err == nil || !strings.Contains(err.Error(), strings.TrimLeft(args[0], "-")) {
			t.Errorf("eval %v: %v\n%s", args, err, out)
		}
	}
}

// Issue 12: `cd a/sub; entrolab train --out .. --force` deleted a/f and
// a/sub. Now --force is refused on anything entrolab did not make.
func TestTrainForceRefusesForeignDirs(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "a", "sub")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(root, "a", "f"), []byte("precious"), 0o644)
	wd, _ := os.Getwd()
	os.Chdir(sub)
	defer os.Chdir(wd)
	out, err := execute(t, "train", "--steps", "1", "--out", "..", "--force", "--set", "base.checkpoint="+policytest.BaseDir())
	if err == nil {
		t.Fatalf("train --out .. --force succeeded:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "f")); err != nil {
		t.Fatalf("a/f deleted: %v", err)
	}
	if _, err := os.Stat(sub); err != nil {
		t.Fatalf("a/sub deleted: %v", err)
	}
	// --set name=../../escape cannot leave runs/
	out, err = execute(t, "train", "--steps", "1", "--set", "name=../../escape", "--set", "base.checkpoint="+policytest.BaseDir())
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("name=../../escape: %v\n%s", err, out)
	}
}
