package plots

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

func TestFitEntropyRewardExact(t *testing.T) {
	tests := []struct {
		name string
		a, b float64
		H    []float64
	}{
		{"paper_like", 0.6, 1.1, []float64{0.1, 0.3, 0.5, 0.8, 1.2, 1.5}},
		{"negative_a", -0.25, 0.3, []float64{2.0, 1.0, 0.0, -1.0}},
		{"two_points", 1.5, -2, []float64{0.2, 0.9}},
		{"many_points", 0.05, 0.9, linspace(0.01, 3.5, 400)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			R := make([]float64, len(tc.H))
			for i, h := range tc.H {
				R[i] = -tc.a*math.Exp(h) + tc.b
			}
			a, b, r2, err := FitEntropyReward(tc.H, R)
			if err != nil {
				t.Fatalf("FitEntropyReward(%s): %v", tc.name, err)
			}
			if math.Abs(a-tc.a) > 1e-9 || math.Abs(b-tc.b) > 1e-9 || math.Abs(r2-1) > 1e-12 {
				t.Errorf("FitEntropyReward(%s) = a %v, b %v, R² %v; want %v, %v, 1", tc.name, a, b, r2, tc.a, tc.b)
			}
		})
	}
}

func TestFitEntropyRewardNoisy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const a0, b0 = 0.4, 1.2
	H := linspace(0.2, 2.0, 500)
	R := make([]float64, len(H))
	for i, h := range H {
		R[i] = -a0*math.Exp(h) + b0 + 0.05*rng.NormFloat64()
	}
	// Poison a few points: non-finite pairs must be left out.
	H = append(H, math.NaN(), 1.0, math.Inf(1))
	R = append(R, 0.5, math.NaN(), 0.1)
	a, b, r2, err := FitEntropyReward(H, R)
	if err != nil {
		t.Fatalf("FitEntropyReward(noisy): %v", err)
	}
	// The slope's standard error here is about 0.05/sqrt(500·var(e^H)) ≈ 1.5e-3.
	if math.Abs(a-a0) > 0.01 || math.Abs(b-b0) > 0.03 || r2 < 0.95 || r2 > 1 {
		t.Errorf("FitEntropyReward(noisy) = a %v, b %v, R² %v; want ≈ %v, %v, > 0.95", a, b, r2, a0, b0)
	}
}

func TestFitEntropyRewardErrors(t *testing.T) {
	tests := []struct {
		name string
		H, R []float64
	}{
		{"length_mismatch", []float64{1, 2}, []float64{1}},
		{"empty", nil, nil},
		{"one_point", []float64{1}, []float64{2}},
		{"constant_entropy", []float64{1, 1, 1}, []float64{1, 2, 3}},
		{"all_nan", []float64{math.NaN(), math.NaN()}, []float64{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, r2, err := FitEntropyReward(tc.H, tc.R)
			if err == nil || !math.IsNaN(a) || !math.IsNaN(b) || !math.IsNaN(r2) {
				t.Errorf("FitEntropyReward(%s) = %v, %v, %v, %v; want NaNs and an error", tc.name, a, b, r2, err)
			}
		})
	}
	// Constant reward: an exact flat fit (a = 0) whose R² is undefined.
	a, b, r2, err := FitEntropyReward([]float64{0, 1, 2}, []float64{0.5, 0.5, 0.5})
	if err != nil || a != 0 || b != 0.5 || !math.IsNaN(r2) {
		t.Errorf("FitEntropyReward(constant_reward) = %v, %v, %v, %v; want 0, 0.5, NaN, nil", a, b, r2, err)
	}
}

func TestFitFromFile(t *testing.T) {
	// testdata/basic holds R = −0.5·exp(H) + 4 rounded to 12 decimals.
	r := mustRead(t, "basic")
	_, h, rw := Join(r.Get(KeyEntropy), r.Get(KeyReward))
	if len(h) != 20 {
		t.Fatalf("Join(entropy, reward) gave %d pairs, want 20", len(h))
	}
	a, b, r2, err := FitEntropyReward(h, rw)
	if err != nil || math.Abs(a-0.5) > 1e-9 || math.Abs(b-4) > 1e-9 || math.Abs(r2-1) > 1e-9 {
		t.Errorf("fit(basic) = %v, %v, %v, %v; want 0.5, 4, 1", a, b, r2, err)
	}
}

func TestPearson(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"perfect", []float64{1, 2, 3}, []float64{2, 4, 6}, 1},
		{"anti", []float64{1, 2, 3}, []float64{3, 2, 1}, -1},
		// dx = (-1, 0, 1), dy = (-1, 1, 0): Σdx·dy = 1, Σdx² = Σdy² = 2, r = 1/2.
		{"half", []float64{1, 2, 3}, []float64{1, 3, 2}, 0.5},
		{"nan_skipped", []float64{1, nan, 2, 3}, []float64{2, 7, 4, 6}, 1},
		{"constant", []float64{1, 2, 3}, []float64{5, 5, 5}, nan},
		{"one_pair", []float64{1}, []float64{1}, nan},
		{"mismatch", []float64{1, 2}, []float64{1}, nan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Pearson(tc.x, tc.y)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
				t.Errorf("Pearson(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func readSeeds(t testing.TB) []*Run {
	t.Helper()
	var runs []*Run
	for _, d := range []string{"grpo_seed1", "grpo_seed2", "grpo_seed3"} {
		runs = append(runs, mustRead(t, filepath.Join("seeds", d)))
	}
	return runs
}

func TestAggregateSeeds(t *testing.T) {
	runs := readSeeds(t)
	groups := GroupRuns(runs)
	if len(groups) != 1 || groups[0].Key != "grpo" || len(groups[0].Runs) != 3 || groups[0].Label() != "grpo (3 seeds)" {
		t.Fatalf("GroupRuns(seeds) = %+v, want one group grpo of 3", groups)
	}
	nan := math.NaN()
	tests := []struct {
		key            string
		steps          []int
		mean, min, max []float64
		n              []int
	}{
		// actor/entropy: step 1 {1,3,2}; step 2 {2,null,5}; step 3 {3,6,0}; step 4 only seed 2 {4}.
		{KeyEntropy, []int{1, 2, 3, 4}, []float64{2, 3.5, 3, 4}, []float64{1, 2, 0, 4}, []float64{3, 5, 6, 4}, []int{3, 2, 3, 1}},
		// critic/score/mean: step 1 {0,.2,.4}; step 2 {.5,.3,.1}; step 3 {1,.4,.7}.
		{KeyReward, []int{1, 2, 3}, []float64{0.2, 0.3, 0.7}, []float64{0, 0.1, 0.4}, []float64{0.4, 0.5, 1}, []int{3, 3, 3}},
		{"missing/key", nil, nil, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			b := Aggregate(groups[0].Series(tc.key))
			if len(b.Steps) != len(tc.steps) {
				t.Fatalf("Aggregate(%s).Steps = %v, want %v", tc.key, b.Steps, tc.steps)
			}
			for i := range tc.steps {
				if b.Steps[i] != tc.steps[i] || b.N[i] != tc.n[i] ||
					math.Abs(b.Mean[i]-tc.mean[i]) > 1e-12 || b.Min[i] != tc.min[i] || b.Max[i] != tc.max[i] {
					t.Errorf("Aggregate(%s)[%d] = step %d mean %v min %v max %v n %d; want %d %v %v %v %d", tc.key, i,
						b.Steps[i], b.Mean[i], b.Min[i], b.Max[i], b.N[i], tc.steps[i], tc.mean[i], tc.min[i], tc.max[i], tc.n[i])
				}
			}
		})
	}
	// A step where no seed is finite is a gap.
	b := Aggregate([]*Series{{Key: "k", Steps: []int{1}, Values: []float64{nan}}, nil})
	if len(b.Steps) != 1 || b.N[0] != 0 || !math.IsNaN(b.Mean[0]) || !math.IsNaN(b.Min[0]) || !math.IsNaN(b.Max[0]) {
		t.Errorf("Aggregate(all NaN) = %+v, want one NaN step with N 0", b)
	}
}

func TestGroupRunsExplicit(t *testing.T) {
	a := &Run{Label: "x", Group: "g"}
	b := &Run{Label: "y"}
	c := &Run{Label: "z", Group: "g"}
	groups := GroupRuns([]*Run{a, nil, b, c})
	if len(groups) != 2 || groups[0].Key != "g" || len(groups[0].Runs) != 2 || groups[0].Runs[1] != c ||
		groups[1].Key != "y" || groups[1].Label() != "y" {
		t.Errorf("GroupRuns = %+v, want [g: x z] [y]", groups)
	}
}

func linspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}
