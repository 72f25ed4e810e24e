package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyExample copies examples/reverse into a fresh directory and makes it
// the working directory, as a user who copied the example would have it.
func copyExample(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	src := filepath.Join(wd, "..", "..", "examples", "reverse")
	dir := t.TempDir()
	for _, f := range []string{"reverse.yaml", "train.jsonl", "test.jsonl", "reward.py"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chdir(dir)
	t.Cleanup(func() { os.Chdir(wd) })
	return dir
}

// metricSeries reads one metric per step from a run's metrics.jsonl.
func metricSeries(t *testing.T, run, key string) []float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(run, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Step int                `json:"step"`
			Data map[string]float64 `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.Step == 0 {
			continue // the base's evaluation (val/* only)
		}
		out = append(out, l.Data[key])
	}
	return out
}

// TestReverseExample runs the README's "Bring your own task" example from a
// copy of examples/reverse on a small budget: a base made by SFT on the
// JSONL answers with a tokenizer built from the data, then GRPO steps
// scored by the Python reward command. A second run's reward command
// crashes at step 3: the step fails naming the command, the checkpoint of
// step 2 is kept, and --resume (with the command fixed) finishes with the
// same numbers as the first run.
func TestReverseExample(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the example's reward command needs it")
	}
	dir := copyExample(t)
	small := []string{"--steps", "4", "--set", "base.sft.max_steps=40", "--set", "base.sft.eval_every=20", "--set", "base.sft.eval_size=32",
		"--set", "eval.problems=16", "--set", "eval.every=0", "--set", "eval.k=2", "--set", "checkpoint.every=2", "--no-plots"}
	out, err := execute(t, append([]string{"train", "reverse.yaml"}, small...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	run := filepath.Join(dir, "runs", "reverse-s1")
	for _, f := range []string{"metrics.jsonl", "config.yaml", "reward.log", "checkpoints/latest", "checkpoints/step_000004/tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(out, "dataset: train "+filepath.Join(dir, "train.jsonl")+" (2000 lines)") {
		t.Errorf("no dataset summary in the output:\n%s", out)
	}
	acc := metricSeries(t, run, "reward/position_acc")
	if len(acc) != 4 || acc[0] <= 0 {
		t.Errorf("reward/position_acc per step = %v, want 4 steps of the reward script's metric", acc)
	}
	log, _ := os.ReadFile(filepath.Join(run, "reward.log"))
	if !strings.Contains(string(log), "sha256(reward.py)") {
		t.Errorf("reward.log = %q, want the script's hash", log)
	}

	// The same run with a reward command that crashes on its fifth request:
	// the base's evaluation at step 0 makes two (greedy, k samples), steps 1
	// and 2 one each, so it is step 3's.
	crash := `import json, os, sys
n = 0
for line in sys.stdin:
    n += 1
    if n == 5 and os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "CRASH")):
        print("Traceback: deliberate crash", file=sys.stderr)
        sys.exit(1)
    req = json.loads(line)
    out = []
    for c in req["completions"]:
        got, want = c["completion"].strip(), c["answer"]
        acc = sum(a == b for a, b in zip(got, want)) / len(want)
        if got == want:
            out.append({"reward": 1.0, "correct": True, "format": True, "position_acc": acc})
        elif len(got) == len(want):
            out.append({"reward": 0.5 * acc, "correct": False, "format": True, "position_acc": acc})
        else:
            out.append({"reward": 0.0, "correct": False, "format": False, "position_acc": acc})
    print(json.dumps({"results": out}), flush=True)
`
	os.WriteFile(filepath.Join(dir, "crash.py"), []byte(crash), 0o644)
	os.WriteFile(filepath.Join(dir, "CRASH"), nil, 0o644)
	args := append([]string{"train", "reverse.yaml", "--out", "runs/crashy", "--set", `reward.command=["python3", "crash.py"]`}, small...)
	out, err = execute(t, args...)
	if err == nil || !strings.Contains(err.Error(), `reward command ["python3" "`+filepath.Join(dir, "crash.py")+`"]: request 5`) ||
		!strings.Contains(err.Error(), "deliberate crash") || !strings.Contains(err.Error(), "step 3") {
		t.Fatalf("crashing reward command: err = %v\n%s", err, out)
	}
	if !strings.Contains(out, "resume with --resume runs/crashy") {
		t.Errorf("no resume hint in the output:\n%s", out)
	}
	os.Remove(filepath.Join(dir, "CRASH"))
	if out, err := execute(t, "train", "--resume", "runs/crashy", "--no-plots"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	for _, key := range []string{"critic/score/mean", "actor/entropy", "reward/position_acc"} {
		a, b := metricSeries(t, run, key), metricSeries(t, filepath.Join(dir, "runs", "crashy"), key)
		if len(a) != len(b) {
			t.Fatalf("%s: %d steps after resume, want %d", key, len(b), len(a))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s at step %d: resumed run %v, uninterrupted run %v", key, i+1, b[i], a[i])
			}
		}
	}
}
