package trainer

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/sft"
)

// BenchmarkStepRewardCommand is one RL step (16 prompts × 8 completions,
// the default sizes) on examples/reverse with its exact verifier and with
// the example's Python reward command (examples/reverse/reward.py): the
// difference is what the command costs a step. The base is a 1-step SFT
// of the default model (untimed). It skips without python3.
func BenchmarkStepRewardCommand(b *testing.B) {
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 is not installed")
	}
	ex, _ := filepath.Abs(filepath.Join("..", "examples", "reverse"))
	task := reward.DefaultConfig()
	task.Name, task.Train, task.Test = "dataset", filepath.Join(ex, "train.jsonl"), filepath.Join(ex, "test.jsonl")
	sc := sft.DefaultConfig()
	sc.Task, sc.MaxSteps, sc.EvalSize, sc.MaxNewToken = task, 1, 8, 8
	base := filepath.Join(b.TempDir(), "base")
	if _, err := sft.Run(context.Background(), sc, base, false, nil); err != nil {
		b.Fatal(err)
	}
	ck, err := policy.LoadCheckpoint(base)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"exact", "python"} {
		b.Run("reward="+name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Task, cfg.Sampling.MaxNewTokens, cfg.Train.Steps, cfg.Eval.Every, cfg.Log.SampleEvery = task, 8, 1<<30, 0, 0
			tr, err := New(cfg, ck)
			if err != nil {
				b.Fatal(err)
			}
			if name == "python" {
				dir := b.TempDir()
				c, err := reward.StartCommand(tr.Task, reward.CommandConfig{Command: []string{py, filepath.Join(ex, "reward.py")}, Timeout: "30s"}, dir)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				tr.Task = c
			}
			if _, err := tr.StepOnce(context.Background()); err != nil { // untimed: graphs, the interpreter
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := tr.StepOnce(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}
