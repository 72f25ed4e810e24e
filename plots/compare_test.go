package plots

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/stats"
)

// fakeRun has entropy h0·exp(−rate·step), reward 0.3 + gain·step/steps and
// one val/accuracy and val/pass@8 at the end.
func fakeRun(t *testing.T, name string, seed int, h0, rate, gain float64) *Run {
	t.Helper()
	var b strings.Builder
	const steps = 40
	for s := 1; s <= steps; s++ {
		fmt.Fprintf(&b, `{"step": %d, "data": {"actor/entropy": %g, "critic/score/mean": %g`, s, h0*math.Exp(-rate*float64(s)), 0.3+gain*float64(s)/steps)
		if s == steps {
			fmt.Fprintf(&b, `, "val/accuracy": %g, "val/pass@8": %g, "val/pass@2": 0.01`, 0.2+gain, 0.5+gain)
		}
		b.WriteString("}}\n")
	}
	r, err := ParseMetrics(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	r.Name, r.Seed, r.Label, r.Group = name, fmt.Sprint(seed), fmt.Sprintf("%s seed=%d", name, seed), name
	return r
}

func TestRunMetrics(t *testing.T) {
	r := fakeRun(t, "g", 1, 1, 0.05, 0.1)
	m := RunMetrics(r)
	// entropy exp(−0.05 s) reaches 0.5·exp(−0.05) at s = 1 + ln2/0.05 = 14.86 -> step 15
	if m[MetricStepsCollapse] != 15 {
		t.Errorf("steps to collapse %v, want 15", m[MetricStepsCollapse])
	}
	if math.Abs(m[MetricPassAtK]-0.6) > 1e-12 {
		t.Errorf("pass@k %v, want the largest k's 0.6", m[MetricPassAtK])
	}
	// time average of exp(−0.05 s) over [1, 40] ≈ (e^−0.05 − e^−2)/(0.05·39)
	want := (math.Exp(-0.05) - math.Exp(-2)) / (0.05 * 39)
	if math.Abs(m[MetricEntropyAUC]-want) > 1e-3 {
		t.Errorf("entropy auc %v, want ≈ %v", m[MetricEntropyAUC], want)
	}
	// pass@k and pass@1 come from the last evaluation with a curve, even
	// when one in between sampled more (eval.k above eval.final_k)
	mixed, err := ParseMetrics(strings.NewReader(`{"step": 0, "data": {"val/pass@1": 0.1, "val/pass@2": 0.15, "val/pass@4": 0.2}}
{"step": 5, "data": {"actor/entropy": 1, "val/pass@1": 0.3, "val/pass@16": 0.9}}
{"step": 10, "data": {"actor/entropy": 1, "val/pass@1": 0.25, "val/pass@2": 0.35, "val/pass@4": 0.45}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if mm := RunMetrics(mixed); mm[MetricPassAtK] != 0.45 || mm[MetricPassAt1] != 0.25 {
		t.Errorf("pass@k %v and pass@1 %v, want the last evaluation's 0.45 and 0.25", mm[MetricPassAtK], mm[MetricPassAt1])
	}
	never := fakeRun(t, "g", 1, 1, 0.001, 0.1)
	if RunMetrics(never)[MetricStepsCollapse] != 40 {
		t.Errorf("a run that never collapses is censored at its last step")
	}
}

func TestCompareGroups(t *testing.T) {
	var runs []*Run
	for seed := 1; seed <= 5; seed++ {
		jitter := 0.02 * float64(seed%3)
		runs = append(runs, fakeRun(t, "grpo", seed, 0.6+jitter, 0.03, 0.15+0.01*math.Cos(1.3*float64(seed))))
		runs = append(runs, fakeRun(t, "clip_cov", seed, 0.6+jitter, 0.01, 0.15+0.01*math.Sin(2.1*float64(seed))))
	}
	groups := GroupRuns(runs)
	gs, err := CompareGroups(groups, "grpo", stats.Bootstrap{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Versus != nil || gs[1].Versus == nil {
		t.Fatalf("baseline has comparisons or the other has none: %+v", gs)
	}
	c := gs[1].Versus[MetricFinalEntropy]
	if !c.Paired || !c.Differs() || c.Diff.Estimate <= 0 || c.PImprove.Estimate != 1 {
		t.Fatalf("clip_cov final entropy vs grpo: %+v", c)
	}
	if r := gs[1].Versus[MetricFinalReward]; r.Differs() {
		t.Fatalf("noise-only reward difference should not separate: %+v", r)
	}
	var md bytes.Buffer
	if err := WriteComparisonMarkdown(&md, gs, 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"higher than grpo (5 seeds): clip_cov (5 seeds)", "cannot be told apart from grpo (5 seeds)", "95% percentile bootstrap", "(paired)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var cb bytes.Buffer
	if err := WriteComparisonCSV(&cb, gs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"final_entropy_mean", "final_entropy_iqm", "final_entropy_ci_low", "final_entropy_ci_high", "final_entropy_diff", "final_entropy_diff_ci_low", "final_entropy_diff_ci_high", "final_entropy_p_improve"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("csv lacks column %s", h)
		}
	}
	if rows[1][col["final_entropy_diff"]] != "" || rows[2][col["final_entropy_p_improve"]] != "1" {
		t.Fatalf("csv rows %v", rows[1:])
	}
}
