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
