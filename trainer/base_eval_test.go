package trainer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvaluateBase: a fresh run evaluates its base at step 0 (val/* at step
// 0, no checkpoint of it), and the steps after are the same as without it.
func TestEvaluateBase(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 2
	plain := filepath.Join(t.TempDir(), "plain")
	runSteps(t, c, plain, false)

	with := filepath.Join(t.TempDir(), "with")
	r, err := Open(c, with, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Trainer.Observe(MetricsWriter{Dir: with})
	r.Trainer.Observe(Checkpointer{Run: r})
	if err := r.EvaluateBase(); err != nil {
		t.Fatal(err)
	}
	if err := r.Trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := stableMetrics(t, plain), stableMetrics(t, with)
	if len(b) != len(a)+1 || !strings.HasPrefix(b[0], "0 ") || !strings.Contains(b[0], "val/accuracy=") {
		t.Fatalf("step-0 line missing: %v", b)
	}
	for i := range a {
		if a[i] != b[i+1] {
			t.Fatalf("step %d differs with the base evaluated first:\n%s\n%s", i+1, a[i], b[i+1])
		}
	}
	if _, err := os.Stat(filepath.Join(with, "checkpoints", "step_000000")); err == nil {
		t.Fatal("the base was checkpointed as step 0")
	}
}

// TestEvalSamplesLeaveStepsAlone: the samples per problem of the
// evaluations (eval.k, eval.final_k, at step 0, in between and at the end)
// change only val/* — the evaluation never draws on a training random
// stream — and the base and last evaluations record the pass@k curve up to
// eval.final_k, the others up to eval.k.
func TestEvalSamplesLeaveStepsAlone(t *testing.T) {
	run := func(k, finalK int) [][2]string {
		c := testConfig(t)
		c.Train.Steps, c.Eval.Every, c.Eval.K, c.Eval.FinalK = 3, 1, k, finalK
		dir := filepath.Join(t.TempDir(), "run")
		r, err := Open(c, dir, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Trainer.Observe(MetricsWriter{Dir: dir})
		if err := r.EvaluateBase(); err != nil {
			t.Fatal(err)
		}
		if err := r.Trainer.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out [][2]string // per line: the training metrics, the val/pass@ keys
		for _, l := range stableMetrics(t, dir) {
			var train, pass []string
			for _, f := range strings.Fields(l) {
				switch {
				case strings.HasPrefix(f, "val/pass@"):
					pass = append(pass, f[:strings.Index(f, "=")])
				case !strings.HasPrefix(f, "val/"):
					train = append(train, f)
				}
			}
			out = append(out, [2]string{strings.Join(train, " "), strings.Join(pass, " ")})
		}
		return out
	}
	a, b := run(2, 4), run(0, 16)
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("want lines for steps 0..3, got %d and %d", len(a), len(b))
	}
	for i := range a {
		if a[i][0] != b[i][0] {
			t.Fatalf("line %d differs with other eval samples:\n%s\n%s", i, a[i][0], b[i][0])
		}
	}
	want := [][2]string{{"val/pass@1 val/pass@2 val/pass@4", "val/pass@1 val/pass@16 val/pass@2 val/pass@4 val/pass@8"},
		{"val/pass@1 val/pass@2", ""}, {"val/pass@1 val/pass@2", ""},
		{"val/pass@1 val/pass@2 val/pass@4", "val/pass@1 val/pass@16 val/pass@2 val/pass@4 val/pass@8"}}
	for i, w := range want {
		if a[i][1] != w[0] || b[i][1] != w[1] {
			t.Errorf("line %d: pass@k keys %q and %q, want %q and %q", i, a[i][1], b[i][1], w[0], w[1])
		}
	}
}

// TestLogLinesFit: every log line fits LineWidth columns, whatever log.keys holds.
func TestLogLinesFit(t *testing.T) {
	m := map[string]float64{}
	keys := append([]string{}, DefaultLogKeys...)
	for _, k := range DefaultLogKeys {
		m[k] = -0.000123456789
	}
	for _, k := range []string{"controller/aepo/temperature_switch_fraction", "rollout/logp_mismatch_max", "actor/pg_clipfrac_lower", "entropy/delta_corr", "critic/advantages/min"} {
		m[k] = 1.23456789e-10
		keys = append(keys, k)
	}
	lines := logLines(Record{Step: 123456, Metrics: m}, keys)
	if len(lines) < 2 {
		t.Fatalf("expected a wrapped line: %q", lines)
	}
	for _, l := range lines {
		if len(l) > LineWidth {
			t.Errorf("%d columns: %s", len(l), l)
		}
	}
	if !strings.Contains(lines[0], "reward=") || !strings.Contains(strings.Join(lines, " "), "rollout/logp_mismatch_max=") {
		t.Errorf("lines: %q", lines)
	}
}
