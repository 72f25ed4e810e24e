package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
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
	if cfg.Task.Name != "countdown" || !strings.HasPrefix(o.out, filepath.Join("runs", "base", "countdown-")) {
		t.Fatalf("task %s out %s", cfg.Task.Name, o.out)
	}
}

// TestSFTWritesTheBaseTrainUses: the README's sft command writes the base
// that train with the same settings looks for.
func TestSFTWritesTheBaseTrainUses(t *testing.T) {
	for _, exp := range []string{"grpo_addition", "clip_cov_addition", "grpo_countdown"} {
		tc, err := configs.LoadTrain(exp, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		cmd := newSFTCmd()
		o := &sftOptions{task: tc.Task.Name}
		cmd.Flags().Set("task", tc.Task.Name)
		if _, err := o.resolve(cmd); err != nil {
			t.Fatal(err)
		}
		if want := trainer.BasePath(tc); o.out != want {
			t.Errorf("%s: sft --task %s writes %s, train looks in %s", exp, tc.Task.Name, o.out, want)
		}
	}
}

// TestTrainConfigFlag: -c FILE and a positional file mean the same.
func TestTrainConfigFlag(t *testing.T) {
	cmd := newTrainCmd()
	if err := cmd.ParseFlags([]string{"-c", "clip_cov_addition", "--steps", "5"}); err != nil {
		t.Fatal(err)
	}
	o := &trainOptions{}
	o.config, o.steps = cmd.Flags().Lookup("config").Value.String(), 5
	cfg, _, err := o.resolve(cmd)
	if err != nil || cfg.Name != "clip_cov_addition" {
		t.Fatalf("-c: %v %s", err, cfg.Name)
	}
	for _, c := range newRoot().Commands() {
		if f := c.Flags().ShorthandLookup("c"); f != nil && f.Name != "config" {
			t.Errorf("%s -c means --%s, not --config", c.Name(), f.Name)
		}
	}
}

// TestEvalCheckpointForms: --ckpt takes a checkpoint directory, a run
// directory or a latest pointer.
func TestEvalCheckpointForms(t *testing.T) {
	run := t.TempDir()
	ck := filepath.Join(run, "checkpoints", "step_000010")
	os.MkdirAll(ck, 0o755)
	os.WriteFile(filepath.Join(ck, "manifest.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(run, "checkpoints", "latest"), []byte("step_000010\n"), 0o644)
	for _, p := range []string{ck, run, filepath.Join(run, "checkpoints", "latest"), filepath.Join(run, "checkpoints")} {
		if got, err := resolveCheckpoint(p); err != nil || got != ck {
			t.Errorf("resolveCheckpoint(%s) = %s, %v; want %s", p, got, err, ck)
		}
	}
	if _, err := resolveCheckpoint(t.TempDir()); err == nil {
		t.Error("an empty directory resolved")
	}
	out, err := execute(t, "eval", "--ckpt", filepath.Join(policytest.BaseDir()), "-n", "4", "--k", "0")
	if err != nil || !strings.Contains(out, "greedy accuracy") {
		t.Fatalf("eval of the committed base: %v\n%s", err, out)
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
	t.Log(out)
	for _, want := range []string{"train: done: runs/grpo_addition-s1 (", "reward", "held-out accuracy", "series: grpo_addition seed=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
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
