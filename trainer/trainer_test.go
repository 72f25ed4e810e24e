package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/policy/policytest"
)

func testConfig(t testing.TB) Config {
	c := DefaultConfig()
	c.Base.Checkpoint = policytest.BaseDir() // committed: tests never train a base
	c.Sampling.MaxNewTokens = 6
	c.Sampling.N = 4
	c.Train.PromptsPerStep = 4
	c.Train.Steps = 4
	c.Eval.Every, c.Eval.Problems, c.Eval.K, c.Eval.FinalK = 2, 16, 4, 8
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
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	r.Trainer.Observe(Checkpointer{Run: r})
	r.Trainer.Observe(Logger{W: os.Stdout, Keys: DefaultLogKeys})
	if err := r.Trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	t.Logf("%s", b[:min(len(b), 3000)])
}

// runSteps runs a fresh run of n steps (or resumes dir) and returns the
// metrics file without timings, and the final weights.
func runSteps(t *testing.T, c Config, dir string, resume bool) {
	t.Helper()
	r, err := Open(c, dir, resume, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	r.Trainer.Observe(Checkpointer{Run: r})
	if err := r.Trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stableMetrics reads metrics.jsonl dropping timing and throughput keys.
func stableMetrics(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct {
			Step int                `json:"step"`
			Data map[string]float64 `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(l.Data))
		for k := range l.Data {
			if !strings.HasPrefix(k, "timing_s/") && !strings.HasPrefix(k, "perf/") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d", l.Step)
		for _, k := range keys {
			fmt.Fprintf(&sb, " %s=%v", k, l.Data[k])
		}
		out = append(out, sb.String())
	}
	return out
}

// TestResumeIsExact: 2N steps in one go and N steps + resume + N steps give
// identical metrics and weights, for a method with controllers and random
// streams of its own.
func TestResumeIsExact(t *testing.T) {
	for _, method := range []func(*Config){
		func(c *Config) {},
		func(c *Config) { // adaptive entropy coefficient + Clip-Cov's random selection
			c.Algorithm.Loss.Name = "clip_cov"
			c.Algorithm.Loss.ClipCov.ClipCovRatio = 0.05
			c.Algorithm.Entropy.Name = "adaptive_bonus"
			c.Algorithm.Entropy.Adaptive.Coef = 0.01
		},
	} {
		c := testConfig(t)
		method(&c)
		c.Train.Steps = 4
		// the half run's last step (2) is evaluated with eval.final_k and the
		// one-go run's step 2 with eval.k: a run extended by resume keeps the
		// record of the evaluation it made; with equal k the lines match
		c.Eval.FinalK = c.Eval.K
		one := filepath.Join(t.TempDir(), "one")
		runSteps(t, c, one, false)

		two := filepath.Join(t.TempDir(), "two")
		half := c
		half.Train.Steps = 2
		runSteps(t, half, two, false)
		runSteps(t, c, two, true)

		a, b := stableMetrics(t, one), stableMetrics(t, two)
		if len(a) != 4 || len(b) != 4 {
			t.Fatalf("metrics lines: %d in one go, %d resumed", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("step %d differs after resume:\none go:  %s\nresumed: %s", i+1, a[i], b[i])
			}
		}
		ca, err := policy.LoadCheckpoint(filepath.Join(one, "checkpoints", "step_000004"))
		if err != nil {
			t.Fatal(err)
		}
		cb, err := policy.LoadCheckpoint(filepath.Join(two, "checkpoints", "step_000004"))
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range ca.Weights.List {
			if !slices.Equal(p.Data, cb.Weights.List[i].Data) {
				t.Fatalf("weights %s differ after resume", p.Name)
			}
		}
	}
}

// TestResumeAfterTornMetrics: a run killed after writing metrics for a step
// whose checkpoint never landed resumes from the last checkpoint and drops
// the extra lines.
func TestResumeAfterTornMetrics(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 2
	dir := filepath.Join(t.TempDir(), "run")
	runSteps(t, c, dir, false)
	f, _ := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":3,"data":{"x":1}}` + "\n" + `{"step":4,"da`)
	f.Close()
	c.Train.Steps = 3
	runSteps(t, c, dir, true)
	m := stableMetrics(t, dir)
	if len(m) != 3 || !strings.HasPrefix(m[2], "3 ") || strings.Contains(m[2], " x=") {
		t.Fatalf("metrics after resume: %v", m)
	}
}

func TestRunDirectoryNotOverwritten(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 1
	dir := filepath.Join(t.TempDir(), "run")
	runSteps(t, c, dir, false)
	if _, err := Open(c, dir, false, false, nil); !errors.Is(err, ErrRunExists) {
		t.Fatalf("second Open: %v, want ErrRunExists", err)
	}
	if _, err := Open(c, dir, false, true, nil); err != nil {
		t.Fatalf("Open with force: %v", err)
	}
}

// TestNonFiniteStops: a NaN reaching the loss stops the run with an error
// naming the step and the metric, and the last checkpoint stays loadable.
func TestNonFiniteStops(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 4
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	r.Trainer.Observe(Checkpointer{Run: r})
	poison := poisonAt{step: 3}
	r.Trainer.Observe(&poison)
	err = r.Trainer.Run(context.Background())
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Step != 3 {
		t.Fatalf("run with a NaN weight: %v, want a NonFiniteError at step 3", err)
	}
	t.Logf("stopped: %v", err)
	if _, err := policy.LoadCheckpoint(filepath.Join(dir, "checkpoints", "step_000002")); err != nil {
		t.Fatalf("last good checkpoint: %v", err)
	}
}

// poisonAt sets a weight to NaN after step-1, so step fails.
type poisonAt struct{ step int }

func (p *poisonAt) OnStep(t *Trainer, r Record) error {
	if r.Step == p.step-1 {
		t.Model.W.LNfW.Data[0] = float32(math.NaN())
	}
	return nil
}
