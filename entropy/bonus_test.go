package entropy

import (
	"math"
	"testing"
)

// TestGoldenPlain checks every case of entropy_plain.json: token entropy,
// the verl bonus under every aggregation mode, the TRL 80/20 mask and the TRL
// adaptive coefficient.
func TestGoldenPlain(t *testing.T) {
	g := loadGolden(t, "entropy_plain.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tl := newTol(t, g, c)
			switch c.Kind {
			case "entropy_bonus":
				goldenBonus(t, tl, c)
			case "trl_high_entropy_mask":
				goldenHighMask(t, tl, c)
			case "trl_adaptive_entropy":
				goldenTRLAdaptive(t, tl, c)
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
}

func goldenBonus(t *testing.T, tl *tol, c goldenCase) {
	logits := dec[[][][]float64](t, c.Inputs, "logits")
	mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
	tau := dec[float64](t, c.Hyper, "temperature")
	coef := dec[float64](t, c.Hyper, "entropy_coeff")
	scale := dec[*float64](t, c.Hyper, "loss_scale_factor")
	lsf := 0.0
	if scale != nil {
		lsf = *scale
	}
	tl.f2("Entropies", Entropies(nil, logits, tau), dec[[][]float64](t, c.Expected, "entropy"))
	aggs := dec[map[string]float64](t, c.Expected, "agg")
	terms := dec[map[string]float64](t, c.Expected, "loss_term")
	grads := dec[map[string][][][]float64](t, c.Expected, "grad_logits")
	if len(aggs) != len(AggModes) {
		t.Errorf("golden has %d modes, package has %d", len(aggs), len(AggModes))
	}
	for mode, want := range aggs {
		r := NewBonus(BonusConfig{Coef: coef, Agg: AggMode(mode), LossScaleFactor: lsf, TopEntropyQuantile: 1})
		out, err := r.Regularize(nil, Input{Logits: logits, Mask: mask, Temperature: tau})
		if err != nil {
			t.Fatal(err)
		}
		tl.f("agg/"+mode, out.Metrics["entropy/agg"], want)
		tl.f("loss/"+mode, out.Loss, terms[mode])
		tl.f3("grad/"+mode, out.Grad, grads[mode])
	}
}

func goldenHighMask(t *testing.T, tl *tol, c goldenCase) {
	logits := dec[[][][]float64](t, c.Inputs, "logits")
	mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
	tau := dec[float64](t, c.Hyper, "temperature")
	rho := dec[float64](t, c.Hyper, "top_entropy_quantile")
	ent := Entropies(nil, logits, tau)
	tl.f2("Entropies", ent, dec[[][]float64](t, c.Expected, "entropy"))
	hm := HighEntropyMask{Rho: rho}
	k, thr, kept := hm.Apply(nil, ent, mask)
	tl.f("threshold", thr, dec[float64](t, c.Expected, "threshold"))
	tl.i2("entropy_mask", k, dec[[][]int](t, c.Expected, "entropy_mask"))
	tl.i("num_kept", kept, dec[int](t, c.Expected, "num_kept"))
}

func goldenTRLAdaptive(t *testing.T, tl *tol, c goldenCase) {
	type step struct {
		Logits [][][]float64 `json:"logits"`
		Mask   [][]int       `json:"mask"`
	}
	type want struct {
		World     float64 `json:"world_entropy"`
		Apply     float64 `json:"apply_coef"`
		CoefAfter float64 `json:"entropy_coef_after"`
		LastAfter float64 `json:"last_world_entropy_after"`
	}
	steps := dec[[]step](t, c.Inputs, "steps")
	exp := dec[[]want](t, c.Expected, "steps")
	cfg := DefaultConfig()
	cfg.Name = "adaptive_bonus"
	cfg.Adaptive = AdaptiveCoefConfig{
		Coef:   dec[float64](t, c.StateBefore, "entropy_coef"),
		Target: dec[float64](t, c.Hyper, "entropy_target"),
		Delta:  dec[float64](t, c.Hyper, "entropy_coef_delta"),
		Min:    dec[float64](t, c.Hyper, "entropy_coef_min"),
		Max:    dec[float64](t, c.Hyper, "entropy_coef_max"),
	}
	if last := string(c.StateBefore["last_world_entropy"]); last != `"inf"` {
		t.Fatalf("state_before.last_world_entropy = %s; the test expects \"inf\"", last)
	}
	reg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := NewCoefController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != len(steps) {
		t.Fatalf("%d expected steps for %d inputs", len(exp), len(steps))
	}
	meanKey, tokKey := ctl.Metric()
	for i, s := range steps {
		reg.(Tunable).SetCoef(ctl.Coef())
		out, err := reg.Regularize(nil, Input{Logits: s.Logits, Mask: toF2(s.Mask), Temperature: 1})
		if err != nil {
			t.Fatal(err)
		}
		var w Window
		w.Add(out.Metrics[meanKey], out.Metrics[tokKey])
		e := exp[i]
		tl.f("world_entropy", w.Mean(), e.World)
		tl.f("apply_coef", out.Metrics["entropy/coef"], e.Apply)
		ctl.Update(w.Mean(), i)
		st := ctl.(*AdaptiveCoef).State()
		tl.f("entropy_coef_after", st.Coef, e.CoefAfter)
		tl.f("last_world_entropy_after", st.LastEntropy, e.LastAfter)
	}
}

func TestAggHandComputed(t *testing.T) {
	// x = [[1 2 _], [_ _ _], [3 _ _]] with mask [[1 1 0],[0 0 0],[1 0 0]]:
	// token-mean 6/3; seq-mean-token-sum (3+3)/2; seq-mean-token-mean (1.5+3)/2
	// up to verl's +1e-8 on n_b (spec §2.2: 3/(2+1e-8)/2 + 3/(1+1e-8)/2); norm 6/3 (T = 3).
	x := [][]float64{{1, 2, 9}, {9, 9, 9}, {3, 9, 9}}
	m := [][]float64{{1, 1, 0}, {0, 0, 0}, {1, 0, 0}}
	for _, tc := range []struct {
		mode  AggMode
		scale float64
		want  float64
	}{
		{TokenMean, 0, 2},
		{SeqMeanTokenSum, 0, 3},
		{SeqMeanTokenMean, 0, (3/(2+1e-8) + 3/(1+1e-8)) / 2},
		{SeqMeanTokenSumNorm, 0, 2},
		{SeqMeanTokenSumNorm, 4, 1.5},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			if got := Agg(x, m, tc.mode, tc.scale); math.Abs(got-tc.want) > 1e-15 {
				t.Errorf("Agg(%s, scale=%v) = %v, want %v", tc.mode, tc.scale, got, tc.want)
			}
		})
	}
}

func TestHighEntropyMaskEdges(t *testing.T) {
	ent := [][]float64{{0.1, 0.5, 0.5}, {0.3, 0.9, 0}}
	m := [][]float64{{1, 1, 1}, {1, 0, 0}}
	for _, tc := range []struct {
		name string
		rho  float64
		kept int
	}{
		{"off", 1, 4},
		{"max_only_ties_kept", 0, 2}, // two tokens at the max 0.5 (0.9 is padding)
		{"half", 0.5, 2},             // θ = 0.4: keeps both 0.5s
	} {
		t.Run(tc.name, func(t *testing.T) {
			hm := HighEntropyMask{Rho: tc.rho}
			_, _, kept := hm.Apply(nil, ent, m)
			if kept != tc.kept {
				t.Errorf("Apply(%s) kept %d, want %d", tc.name, kept, tc.kept)
			}
		})
	}
	hm := HighEntropyMask{Rho: 0.2}
	k, _, kept := hm.Apply(nil, ent, [][]float64{{0, 0, 0}, {0, 0, 0}})
	if kept != 0 || k[0][0] != 0 {
		t.Errorf("Apply(empty) kept %d", kept)
	}
}
