package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestHandCases(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name      string
		got, want float64
	}{
		{"mean skips NaN", Mean([]float64{1, 2, 3, nan, math.Inf(1)}), 2},
		// scipy.stats.trim_mean([1,2,3,4,100], 0.25) = 3.0
		{"iqm n=5", IQM([]float64{100, 3, 1, 4, 2}), 3},
		// scipy.stats.trim_mean(range(1, 9), 0.25) = 4.5
		{"iqm n=8", IQM([]float64{8, 7, 6, 5, 4, 3, 2, 1}), 4.5},
		{"iqm n=3 is the mean", IQM([]float64{1, 2, 9}), 4},
		// numpy.percentile([1,2,3,4], 25) = 1.75, 90 -> 3.7
		{"p25", Percentile([]float64{4, 3, 2, 1}, 25), 1.75},
		{"p90", Percentile([]float64{4, 3, 2, 1}, 90), 3.7},
		{"p100", Percentile([]float64{4, 3, 2, 1}, 100), 4},
		{"p0", Percentile([]float64{4, 3, 2, 1}, 0), 1},
		// pairs (1,2) 0, (2,2) 1/2, (3,2) 1 -> 1.5/3
		{"p improve ties", ProbImprovement([]float64{1, 2, 3}, []float64{2}), 0.5},
		{"p improve all", ProbImprovement([]float64{3, 4}, []float64{1, 2}), 1},
		{"p improve none", ProbImprovement([]float64{1}, []float64{1.5, 2}), 0},
		// 2 of 3 x beat 1, 1 of 3 beats 2.5: (2 + 1) / 6
		{"p improve mixed", ProbImprovement([]float64{0, 2, 3}, []float64{1, 2.5}), 0.5},
	}
	for _, c := range cases {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(IQM([]float64{nan})) || !math.IsNaN(ProbImprovement(nil, []float64{1})) {
		t.Error("empty samples must give NaN")
	}
}

func TestBootstrapDegenerate(t *testing.T) {
	b := Bootstrap{Seed: 1}
	iv, err := b.CI([]float64{0.5}, MeanStat)
	if err != nil || iv.Estimate != 0.5 || !math.IsNaN(iv.Low) || !math.IsNaN(iv.High) || iv.N != 1 {
		t.Fatalf("one value: %+v %v", iv, err)
	}
	if iv.Excludes(0) {
		t.Error("an undefined interval excludes nothing")
	}
	iv, _ = b.CI([]float64{2, 2, 2, math.NaN()}, MeanStat)
	if iv.Estimate != 2 || iv.Low != 2 || iv.High != 2 || iv.N != 3 {
		t.Fatalf("constant sample: %+v", iv)
	}
	if _, err := (Bootstrap{Resamples: 100}).CI([]float64{1, 2}, MeanStat); err == nil {
		t.Error("100 resamples accepted")
	}
	if _, err := (Bootstrap{Level: 1.5}).CI([]float64{1, 2}, MeanStat); err == nil {
		t.Error("level 1.5 accepted")
	}
}

func TestBootstrapSeeded(t *testing.T) {
	x := []float64{0.31, 0.35, 0.29, 0.40, 0.33}
	a, _ := Bootstrap{Seed: 7}.CI(x, MeanStat)
	b, _ := Bootstrap{Seed: 7}.CI(x, MeanStat)
	c, _ := Bootstrap{Seed: 8}.CI(x, MeanStat)
	if a != b {
		t.Fatalf("same seed, different intervals: %v %v", a, b)
	}
	if a == c {
		t.Fatalf("different seeds, same interval: %v", a)
	}
	if !(a.Low < a.Estimate && a.Estimate < a.High) || a.Low < 0.29 || a.High > 0.40 {
		t.Fatalf("interval %v does not bracket the mean inside the data's range", a)
	}
}

// The percentile interval of the mean should cover the true mean 95% of the
// time on normal data once the sample is not tiny.
func TestCoverageNormal(t *testing.T) {
	cover := func(n, trials int) float64 {
		rng := rand.New(rand.NewPCG(42, uint64(n)))
		hit := 0
		x := make([]float64, n)
		for tr := 0; tr < trials; tr++ {
			for i := range x {
				x[i] = 3 + 2*rng.NormFloat64()
			}
			iv, err := Bootstrap{Seed: uint64(tr)}.CI(x, MeanStat)
			if err != nil {
				t.Fatal(err)
			}
			if iv.Low <= 3 && 3 <= iv.High {
				hit++
			}
		}
		return float64(hit) / float64(trials)
	}
	trials := 1000
	if testing.Short() {
		trials = 300
	}
	if c := cover(40, trials); c < 0.93 || c > 0.97 {
		t.Errorf("coverage with n = 40: %.3f, want 0.93–0.97", c)
	} else {
		t.Logf("coverage of the 95%% interval, n = 40, %d trials: %.3f", trials, c)
	}
	// Documented in Bootstrap: the percentile interval is too narrow for 5 seeds.
	if c := cover(5, trials); c < 0.80 || c > 0.93 {
		t.Errorf("coverage with n = 5: %.3f, want the known undercoverage 0.80–0.93", c)
	} else {
		t.Logf("coverage of the 95%% interval, n = 5, %d trials: %.3f", trials, c)
	}
}

func TestPairedDifference(t *testing.T) {
	// Seeds vary a lot; the method adds 0.05 to every seed's value with a
	// little noise. Paired, that is clearly different from zero; unpaired it is not.
	rng := rand.New(rand.NewPCG(3, 4))
	y := Sample{Seeds: []uint64{1, 2, 3, 4, 5, 6}}
	x := Sample{Seeds: []uint64{6, 5, 4, 3, 2, 1}} // other order: pairing is by seed
	base := map[uint64]float64{}
	for _, s := range y.Seeds {
		base[s] = rng.NormFloat64() * 0.5
		y.Values = append(y.Values, base[s])
	}
	for _, s := range x.Seeds {
		x.Values = append(x.Values, base[s]+0.05+0.005*rng.NormFloat64())
	}
	b := Bootstrap{Seed: 1}
	c, err := b.Compare(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Paired || !c.Differs() || !near(c.Diff.Estimate, 0.05, 0.01) {
		t.Fatalf("paired comparison %+v", c)
	}
	x.Seeds = []uint64{7, 8, 9, 10, 11, 12}
	u, err := b.Compare(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if u.Paired || u.Differs() {
		t.Fatalf("unpaired comparison %+v should not separate", u)
	}
	if !near(u.Diff.Estimate, c.Diff.Estimate, 1e-12) {
		t.Fatalf("mean difference depends on pairing: %v vs %v", u.Diff.Estimate, c.Diff.Estimate)
	}
	if u.PImprove.Estimate < 0.4 || u.PImprove.Estimate > 0.7 {
		t.Fatalf("p improve %v", u.PImprove)
	}
	if _, err := b.Diff([]float64{1, 2}, []float64{1}, MeanStat, true); err == nil {
		t.Error("paired difference of unequal lengths accepted")
	}
}

func TestCrossings(t *testing.T) {
	k := []float64{1, 2, 4, 8}
	a := []float64{0.5, 0.6, 0.7, 0.8}
	b := []float64{0.4, 0.55, 0.75, 0.9}
	got := Crossings(k, a, b, true)
	if len(got) != 1 || !near(got[0], math.Exp2(1.5), 1e-12) {
		t.Fatalf("log crossings %v, want [2.83]", got)
	}
	got = Crossings(k, a, b, false)
	if len(got) != 1 || !near(got[0], 3, 1e-12) {
		t.Fatalf("linear crossings %v, want [3]", got)
	}
	// exact zero at k = 4 between a sign change
	got = Crossings(k, []float64{1, 1, 1, 1}, []float64{0, 0.5, 1, 2}, true)
	if len(got) != 1 || got[0] != 4 {
		t.Fatalf("crossing through an exact zero: %v", got)
	}
	// touching without changing sign, and a NaN break
	if got := Crossings(k, []float64{1, 1, 1, 1}, []float64{0, 1, 0, 0}, true); len(got) != 0 {
		t.Fatalf("touch reported as crossing: %v", got)
	}
	if got := Crossings(k, []float64{1, math.NaN(), 0, 0}, []float64{0, 0, 1, 1}, true); len(got) != 0 {
		t.Fatalf("crossing across a NaN: %v", got)
	}
}
