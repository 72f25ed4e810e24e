package entropy

import (
	"encoding/json"
	"github.com/entrolab/entrolab/pg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// addGoldenSeeds seeds a fuzz target with the first five logits of the
// first positions of entropy_plain.json's bonus cases.
func addGoldenSeeds(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "entropy_plain.json"))
	if err != nil {
		f.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		f.Fatal(err)
	}
	for i, c := range g.Cases {
		if c.Kind != "entropy_bonus" {
			continue
		}
		var logits [][][]float64
		if err := json.Unmarshal(c.Inputs["logits"], &logits); err != nil {
			f.Fatal(err)
		}
		for _, rows := range logits {
			z := rows[0]
			if len(z) >= 5 {
				f.Add(z[0], z[1], z[2], z[3], z[4], uint8(i))
			}
		}
	}
}

// fuzzRow turns fuzz floats into a finite logits row and a temperature;
// ok is false for non-finite inputs, which the property does not cover.
func fuzzRow(a, b, c, d, e float64, tauSel uint8) (row []float64, tau float64, ok bool) {
	row = []float64{a, b, c, d, e}
	for _, z := range row {
		if math.IsNaN(z) || math.IsInf(z, 0) {
			return nil, 0, false
		}
	}
	taus := []float64{1, 0.7, 1.2, 0.05, 20, 1e-3, 1e3}
	return row, taus[int(tauSel)%len(taus)], true
}

// FuzzTokenEntropy: finite logits of any size give a finite entropy in
// [0, log V] and a finite gradient that sums to ~0.
func FuzzTokenEntropy(f *testing.F) {
	for _, s := range []struct {
		a, b, c, d, e float64
		tau           uint8
	}{
		{0, 0, 0, 0, 0, 0},                            // uniform: log 5
		{1, 2, 3, 4, 5, 1},                            // ordinary
		{1e308, -1e308, 0, 1e308, -1e308, 2},          // huge, differences overflow
		{1e-300, -1e-300, 5e-324, 0, 1e-310, 3},       // tiny and subnormal
		{745, -745, 0, 1000, -1000, 4},                // exp under/overflow edges
		{3.5, 3.5, -1e300, 3.5, 1e-8, 5},              // ties and a vanishing token
		{-1.7976931348623157e308, 0, 0, 0, 0, 6},      // most negative float
		{1.7976931348623157e308, 1.7e308, 0, 0, 0, 0}, // near max, close pair
	} {
		f.Add(s.a, s.b, s.c, s.d, s.e, s.tau)
	}
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c, d, e float64, tauSel uint8) {
		row, tau, ok := fuzzRow(a, b, c, d, e, tauSel)
		if !ok {
			return
		}
		h := TokenEntropy(row, tau)
		if math.IsNaN(h) || math.IsInf(h, 0) || h < -1e-12 || h > math.Log(5)+1e-12 {
			t.Fatalf("TokenEntropy(%v, %v) = %v", row, tau, h)
		}
		g := make([]float64, len(row))
		h2 := TokenEntropyGrad(g, row, tau)
		if h2 != h {
			t.Fatalf("TokenEntropyGrad H = %v, TokenEntropy %v", h2, h)
		}
		sum, mag := 0.0, 0.0
		for _, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("TokenEntropyGrad(%v, %v) = %v", row, tau, g)
			}
			sum += x
			mag += math.Abs(x)
		}
		if math.Abs(sum) > 1e-9*(1+mag) {
			t.Fatalf("Σ grad = %v (|grad| %v) for %v, τ %v", sum, mag, row, tau)
		}
		keep := make([]bool, len(row))
		KeepSet(keep, row, ClampK(len(row), 0.4), make([]float64, len(row)))
		hc := ClampedEntropyGrad(g, row, keep, tau)
		if math.IsNaN(hc) || math.IsInf(hc, 0) || hc < -1e-12 || hc > math.Log(3)+1e-12 {
			t.Fatalf("ClampedEntropyGrad(%v) = %v", row, hc)
		}
		for _, x := range g {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("ClampedEntropyGrad grad = %v", g)
			}
		}
		at, _ := NewAdaptiveTemperature(DefaultHAPOTemperatureConfig())
		at.Stats = HAPOStats{Median: -1, Std: 1.5, ScalePos: 0.7, ScaleNeg: 0.5}
		at.Ready = true
		if T := at.FromLogits(row); !(T >= 0.95-1e-12 && T <= 1.05+1e-12) {
			t.Fatalf("FromLogits(%v) = %v, outside [T(1−τ), T(1+τ)]", row, T)
		}
	})
}

// FuzzRegularizers: every registered regularizer gives a finite loss,
// gradient and metrics on finite logits.
func FuzzRegularizers(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, uint8(0))
	f.Add(1e308, -1e308, 0.0, 3.0, -2.0, uint8(3))
	f.Add(1e-300, 2.0, -700.0, 700.0, 0.0, uint8(1))
	f.Add(-5.0, 4.0, 4.0, 4.0, 1e200, uint8(5))
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, c, d, e float64, tauSel uint8) {
		row, tau, ok := fuzzRow(a, b, c, d, e, tauSel)
		if !ok {
			return
		}
		rev := []float64{row[4], row[3], row[2], row[1], row[0]}
		logits := [][][]float64{{row, rev}, {rev, row}}
		mask := [][]float64{{1, 1}, {1, 0}}
		for _, name := range Names() {
			cfg := DefaultConfig()
			cfg.Name = name
			cfg.Bonus.Coef, cfg.Adaptive.Coef = 0.01, 0.01
			cfg.Bonus.TopEntropyQuantile = 0.5
			reg, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out, err := reg.Regularize(nil, Input{Logits: logits, Mask: mask, Temperature: tau})
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
				t.Fatalf("%s: loss %v for %v τ %v", name, out.Loss, row, tau)
			}
			for k, v := range out.Metrics {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: metric %s = %v", name, k, v)
				}
			}
			for _, rows := range out.Grad {
				for _, g := range rows {
					for _, x := range g {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Fatalf("%s: gradient %v for %v τ %v", name, g, row, tau)
						}
					}
				}
			}
		}
	})
}

// FuzzSteer: finite log-probs, entropies and bounded advantages give finite
// weights in [w_min, w_max] and a finite loss and gradient.
func FuzzSteer(f *testing.F) {
	f.Add(-0.5, -0.6, 1.2, 0.8, -2.0, false)
	f.Add(0.0, -1e300, 1e300, -1e6, 5.0, true)
	f.Add(-1e-320, 0.0, 0.0, 0.0, 0.0, false)
	f.Add(-800.0, -30.0, 3.0, 1e6, -1e6, true)
	f.Fuzz(func(t *testing.T, l, old, h, a1, a2 float64, linear bool) {
		for _, x := range []float64{l, old, h, a1, a2} {
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e300 {
				return
			}
		}
		a1 = math.Max(-1e6, math.Min(1e6, a1))
		a2 = math.Max(-1e6, math.Min(1e6, a2))
		in := pg.Input{
			Logp:       [][]float64{{l, old}, {old, l}},
			OldLogp:    [][]float64{{old, l}, {old, old}},
			Adv:        [][]float64{{a1, a2}, {a2, a1}},
			Mask:       [][]float64{{1, 1}, {1, 0}},
			OldEntropy: [][]float64{{h, math.Abs(h)}, {0, h}},
		}
		cfg := DefaultSteerConfig()
		if !linear {
			cfg.Linear, cfg.WeightMax = false, 1
		}
		s := NewSteer(cfg)
		out, err := s.Compute(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
			t.Fatalf("loss %v", out.Loss)
		}
		for b, row := range s.weights {
			for i, w := range row {
				if in.Mask[b][i] == 0 {
					continue
				}
				if !(w >= cfg.WeightMin-1e-12 && w <= cfg.WeightMax+1e-12) {
					t.Fatalf("weight %v outside [%v, %v]", w, cfg.WeightMin, cfg.WeightMax)
				}
				if g := out.Grad[b][i]; math.IsNaN(g) || math.IsInf(g, 0) {
					t.Fatalf("gradient %v", g)
				}
			}
		}
	})
}
