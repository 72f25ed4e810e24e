package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, c := range newRoot().Commands() {
		out, err := execute(t, c.Name(), "--help")
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: %v\n%s", c.Name(), err, out)
		}
	}
}

func TestTrainFlagParsing(t *testing.T) {
	cmd := newTrainCmd()
	o := &trainOptions{}
	cmd.Flags().Set("steps", "7")
	cmd.Flags().Set("seed", "3")
	cmd.Flags().Set("set", "optim.lr=0.0005")
	o.steps, o.seed, o.sets = 7, 3, []string{"optim.lr=0.0005"}
	o.config = "clip_cov_addition"
	cfg, dir, err := o.resolve(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.Steps != 7 || cfg.Seed != 3 || cfg.Optim.LR != 0.0005 || cfg.Algorithm.Loss.Name != "clip_cov" {
		t.Fatalf("resolved %+v", cfg.Train)
	}
	if dir != filepath.Join("runs", "clip_cov_addition-s3") {
		t.Fatalf("run dir %s", dir)
	}
	o.sets = []string{"train.stepz=3"}
	if _, _, err := o.resolve(cmd); err == nil || !strings.Contains(err.Error(), "train.steps") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestSFTFlagParsing(t *testing.T) {
	cmd := newSFTCmd()
	o := &sftOptions{task: "countdown"}
	cmd.Flags().Set("task", "countdown")
	cfg, err := o.resolve(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Task.Name != "countdown" || o.out != filepath.Join("runs", "base-countdown") {
		t.Fatalf("task %s out %s", cfg.Task.Name, o.out)
	}
}

func TestTasksAndConfigs(t *testing.T) {
	out, err := execute(t, "tasks")
	if err != nil || !strings.Contains(out, "countdown") {
		t.Fatalf("tasks: %v\n%s", err, out)
	}
	out, err = execute(t, "configs")
	if err != nil || !strings.Contains(out, "grpo_addition") {
		t.Fatalf("configs: %v\n%s", err, out)
	}
	if _, err := execute(t, "eval", "--ckpt", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("eval of a missing checkpoint succeeded")
	}
}

// TestMainJobEndToEnd runs the README's main command on a small budget in a
// temporary directory: base SFT, a few GRPO steps, plots.
func TestMainJobEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	out, err := execute(t, "train", "--steps", "3", "--set", "eval.problems=16", "--set", "base.sft.max_steps=60", "--set", "base.sft.eval_every=30")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	for _, f := range []string{"metrics.jsonl", "config.yaml", "checkpoints/latest", "plots/entropy.png"} {
		if _, err := os.Stat(filepath.Join(dir, "runs", "grpo_addition-s1", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// TestPlotOutDir: figures never land in ./plots (the Go package at the
// repository root).
func TestPlotOutDir(t *testing.T) {
	for _, tc := range []struct {
		runs []string
		want string
	}{
		{[]string{"runs/a"}, "runs/a/plots"},
		{[]string{"runs/lr1e-3", "runs/lr1e-4"}, "runs/compare-lr1e-3+lr1e-4"},
		{[]string{"a", "b"}, "runs/compare-a+b"},
		{[]string{"x/a", "y/b"}, "runs/compare-a+b"},
	} {
		if got := plotDir(tc.runs); got != filepath.FromSlash(tc.want) {
			t.Errorf("plotDir(%v) = %s, want %s", tc.runs, got, tc.want)
		}
	}
}
