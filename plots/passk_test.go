package plots

import (
	"fmt"
	"strings"
	"testing"
)

// curveRun records a base curve at step 0 and a final one at step 10.
func curveRun(t *testing.T, name string, seed int, base, final []float64) *Run {
	t.Helper()
	var b strings.Builder
	line := func(step int, v []float64) {
		fmt.Fprintf(&b, `{"step": %d, "data": {"actor/entropy": 0.5`, step)
		for i, p := range v {
			fmt.Fprintf(&b, `, "val/pass@%d": %g`, 1<<i, p)
		}
		b.WriteString("}}\n")
	}
	line(0, base)
	for s := 1; s < 10; s++ {
		fmt.Fprintf(&b, `{"step": %d, "data": {"actor/entropy": 0.4, "val/pass@8": 0.1}}`+"\n", s)
	}
	line(10, final)
	r, err := ParseMetrics(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	r.Name, r.Seed, r.Label, r.Group = name, fmt.Sprint(seed), fmt.Sprintf("%s seed=%d", name, seed), name
	return r
}

func TestPassCurves(t *testing.T) {
	base := []float64{0.2, 0.35, 0.5, 0.65}
	var runs []*Run
	for s := 1; s <= 3; s++ {
		d := 0.01 * float64(s)
		// RL sharpens: better pass@1, worse pass@8 — the curves cross.
		runs = append(runs, curveRun(t, "grpo", s, base, []float64{0.4 + d, 0.45 + d, 0.5 + d, 0.55 + d}))
		runs = append(runs, curveRun(t, "clip_cov", s, base, []float64{0.3 + d, 0.45 + d, 0.6 + d, 0.7 + d}))
	}
	groups := GroupRuns(runs)
	final, b, bases := PassCurves(groups)
	if b == nil || bases != nil {
		t.Fatalf("one shared base expected, got %v %v", b, bases)
	}
	if len(final) != 2 || final[0].Runs != 3 || len(final[0].K) != 4 || final[0].K[3] != 8 {
		t.Fatalf("final curves %+v", final)
	}
	if !(final[0].Low[0] < final[0].Mean[0] && final[0].Mean[0] < final[0].High[0]) {
		t.Fatalf("no band around the mean: %+v", final[0])
	}
	words := PassCurveFindings(groups)
	if len(words) != 2 || !strings.Contains(words[0], "cross at k ≈") || !strings.Contains(words[1], "do not cross") {
		t.Fatalf("findings %q", words)
	}
	png, err := RenderFigure("pass_at_k", runs, "png")
	if err != nil || len(png) < 1000 {
		t.Fatalf("render: %v (%d bytes)", err, len(png))
	}
	// the sparse val/pass@8 of intermediate steps is not a curve
	if c := PassCurveAt(runs[0], 5); c != nil {
		t.Fatalf("one pass@k value made a curve: %+v", c)
	}
}

// TestPassCurvesOneBaseForSameSeeds: groups that ran the same seeds from
// one base evaluate it alike (each seed its own sampling), so the figure
// draws one base curve with its band, not one per group; groups whose bases
// differ keep their own.
func TestPassCurvesOneBaseForSameSeeds(t *testing.T) {
	var runs []*Run
	for s := 1; s <= 2; s++ {
		b := []float64{0.2 + 0.01*float64(s), 0.35, 0.5, 0.65} // differs by seed
		runs = append(runs, curveRun(t, "grpo", s, b, []float64{0.4, 0.45, 0.5, 0.55}))
		runs = append(runs, curveRun(t, "clip_cov", s, b, []float64{0.3, 0.45, 0.6, 0.7}))
	}
	_, base, bases := PassCurves(GroupRuns(runs))
	if base == nil || bases != nil || base.Runs != 2 {
		t.Fatalf("same seeds, same base: base %+v, bases %v; want one base curve over 2 seeds", base, bases)
	}
	runs = append(runs, curveRun(t, "other_base", 1, []float64{0.1, 0.2, 0.3, 0.4}, []float64{0.3, 0.45, 0.6, 0.7}))
	if _, base, bases := PassCurves(GroupRuns(runs)); base != nil || len(bases) != 3 {
		t.Errorf("a group with another base: base %v, %d bases; want each group's own", base, len(bases))
	}
}
