package trainer

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/entrolab/entrolab/sft"
)

var (
	baseOnce sync.Once
	baseDir  string
	baseErr  error
)

// testBase makes (once per test binary) a small base policy on 2-digit
// addition with a short SFT run.
func testBase(t testing.TB) string {
	t.Helper()
	baseOnce.Do(func() {
		dir, err := os.MkdirTemp("", "entrolab-base-")
		if err != nil {
			baseErr = err
			return
		}
		baseDir = filepath.Join(dir, "base")
		c := sft.DefaultConfig()
		c.Task.Addition.Digits = 2
		c.Model.DModel, c.Model.NLayers, c.Model.NHeads, c.Model.MaxSeqLen = 32, 2, 2, 24
		c.MaxSteps, c.EvalEvery, c.AccLow, c.AccHigh = 300, 300, 1, 1
		c.MaxNewToken = 6
		_, baseErr = sft.Run(context.Background(), c, baseDir, true, nil)
	})
	if baseErr != nil {
		t.Fatal(baseErr)
	}
	return baseDir
}

func testConfig(t testing.TB) Config {
	c := DefaultConfig()
	c.Base.Checkpoint = testBase(t)
	c.Task.Addition.Digits = 2
	c.Sampling.MaxNewTokens = 6
	c.Sampling.GroupSize = 4
	c.Train.PromptsPerStep = 4
	c.Train.Steps = 4
	c.Eval.Every, c.Eval.Problems, c.Eval.K = 2, 16, 4
	c.Ckpt.Every = 2
	c.Log.SampleEvery = 2
	return c
}

func TestSmoke(t *testing.T) {
	c := testConfig(t)
	dir := t.TempDir()
	r, err := Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Observe(MetricsWriter{Dir: dir})
	r.Observe(Checkpointer{Run: r})
	r.Observe(Logger{W: os.Stdout, Keys: DefaultLogKeys})
	if err := r.Trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	t.Logf("%s", b[:min(len(b), 3000)])
}
