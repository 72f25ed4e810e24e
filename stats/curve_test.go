package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCurveCIBruteForce recomputes one column by hand from the same seed
// draws: the mean of each resample, then the 2.5th and 97.5th percentiles.
func TestCurveCIBruteForce(t *testing.T) {
	curves := [][]float64{{1, 0.5, math.NaN()}, {2, 0.7, 3}, {4, math.NaN(), math.NaN()}, {8, 0.2, math.NaN()}}
	b := Bootstrap{Seed: 7}
	mean, lo, hi, err := b.CurveCI(curves)
	if err != nil {
		t.Fatal(err)
	}
	if mean[0] != 3.75 || math.Abs(mean[1]-1.4/3) > 1e-15 || mean[2] != 3 {
		t.Errorf("means %v, want [3.75 0.4667 3]", mean)
	}
	if !math.IsNaN(lo[2]) || !math.IsNaN(hi[2]) {
		t.Errorf("one finite seed at t=2: interval [%v, %v], want NaN", lo[2], hi[2])
	}
	rng := b.rng(4)
	draws := make([]int, DefaultResamples*len(curves))
	for i := range draws {
		draws[i] = rng.IntN(len(curves))
	}
	for tt := 0; tt < 2; tt++ {
		var vals []float64
		for i := 0; i < DefaultResamples; i++ {
			var s float64
			m := 0
			for _, j := range draws[i*len(curves) : (i+1)*len(curves)] {
				if v := curves[j][tt]; !math.IsNaN(v) {
					s += v
					m++
				}
			}
			if m > 0 {
				vals = append(vals, s/float64(m))
			}
		}
		slices.Sort(vals)
		wl, wh := Percentile(vals, 2.5), Percentile(vals, 97.5)
		if lo[tt] != wl || hi[tt] != wh {
			t.Errorf("t=%d: [%v, %v], by hand [%v, %v]", tt, lo[tt], hi[tt], wl, wh)
		}
		if !(lo[tt] <= mean[tt] && mean[tt] <= hi[tt]) {
			t.Errorf("t=%d: mean %v outside [%v, %v]", tt, mean[tt], lo[tt], hi[tt])
		}
	}
	m2, l2, h2, _ := b.CurveCI(curves)
	if !slices.Equal(m2[:2], mean[:2]) || !slices.Equal(l2[:2], lo[:2]) || !slices.Equal(h2[:2], hi[:2]) {
		t.Error("CurveCI with the same seed gave different bands")
	}
	if _, _, _, err := b.CurveCI([][]float64{{1, 2}, {1}}); err == nil {
		t.Error("curves of different lengths: no error")
	}
}

// TestCurveCICoverage: 40 seeds of independent N(0, 1) points at 400 steps;
// the share of steps whose band holds the true mean 0 is the interval's
// coverage (0.93–0.97 for the 95% percentile interval at n = 40).
func TestCurveCICoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const seeds, steps = 40, 400
	curves := make([][]float64, seeds)
	for i := range curves {
		curves[i] = make([]float64, steps)
		for j := range curves[i] {
			curves[i][j] = rng.NormFloat64()
		}
	}
	_, lo, hi, err := Bootstrap{Seed: 1}.CurveCI(curves)
	if err != nil {
		t.Fatal(err)
	}
	in := 0
	for j := range lo {
		if lo[j] <= 0 && 0 <= hi[j] {
			in++
		}
	}
	if c := float64(in) / steps; c < 0.92 || c > 0.98 {
		t.Errorf("coverage %.3f over %d steps, want about 0.95", c, steps)
	} else {
		t.Logf("coverage %.3f over %d steps", c, steps)
	}
}

// TestPercentileSelect matches the sorted percentile on random samples
// with ties, at the levels the bands use and at the ends.
func TestPercentileSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(40)) // ties
		}
		s := slices.Clone(v)
		slices.Sort(s)
		for _, q := range []float64{0, 2.5, 50, 97.5, 100, 33.3} {
			if got, want := percentileSelect(slices.Clone(v), q), percentileSorted(s, q); got != want {
				t.Fatalf("n=%d q=%v: select %v, sorted %v", n, q, got, want)
			}
		}
	}
}
