package entropy

import (
	"math"
	"testing"
)

// TestGoldenAEnt checks every case of entropy_aent.json: the keep set, the
// clamped and full entropies, the regularizer's loss and gradient, and one
// controller update.
func TestGoldenAEnt(t *testing.T) {
	g := loadGolden(t, "entropy_aent.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Kind != "clamped_entropy_and_controller" {
				t.Fatalf("unknown kind %q", c.Kind)
			}
			tl := newTol(t, g, c)
			logits := dec[[][][]float64](t, c.Inputs, "logits")
			mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
			cfg := AEntConfig{
				Coef:          dec[float64](t, c.Hyper, "entropy_coeff"),
				Clamp:         dec[float64](t, c.Hyper, "entropy_clamp"),
				AdaptiveCoeff: dec[bool](t, c.Hyper, "adaptive_coeff"),
				EntropyLow:    dec[float64](t, c.Hyper, "entropy_low"),
				EntropyHigh:   dec[float64](t, c.Hyper, "entropy_high"),
				CoeffLR:       dec[float64](t, c.Hyper, "coeff_lr"),
				CoeffBoxLow:   dec[float64](t, c.Hyper, "coeff_box_low"),
				CoeffBoxHigh:  dec[float64](t, c.Hyper, "coeff_box_high"),
				WarmupSteps:   dec[int](t, c.Hyper, "warmup_steps"),
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			tau := dec[float64](t, c.Hyper, "temperature")
			v := len(logits[0][0])
			k := ClampK(v, cfg.Clamp)
			tl.i("num_removed_k", k, dec[int](t, c.Expected, "num_removed_k"))

			wantKeep := dec[[][][]int](t, c.Expected, "keep_mask")
			wantClamped := dec[[][]float64](t, c.Expected, "clamped_entropy")
			keep := make([]bool, v)
			scratch := make([]float64, v)
			clamped := make([][]float64, len(logits))
			for b := range logits {
				clamped[b] = make([]float64, len(logits[b]))
				for p, row := range logits[b] {
					KeepSet(keep, row, k, scratch)
					for j := range keep {
						if keep[j] != (wantKeep[b][p][j] == 1) {
							t.Fatalf("KeepSet(%s)[%d][%d][%d] = %v, want %d", c.Name, b, p, j, keep[j], wantKeep[b][p][j])
						}
					}
					clamped[b][p] = ClampedEntropyGrad(nil, row, keep, tau)
				}
			}
			tl.f2("clamped_entropy", clamped, wantClamped)
			tl.f2("full_entropy", Entropies(nil, logits, tau), dec[[][]float64](t, c.Expected, "full_entropy"))

			r := NewClamped(cfg)
			out, err := r.Regularize(nil, Input{Logits: logits, Mask: mask, Temperature: tau})
			if err != nil {
				t.Fatal(err)
			}
			tl.f("clamped_entropy_token_mean", out.Metrics["entropy/clamped_token_mean"], dec[float64](t, c.Expected, "clamped_entropy_token_mean"))
			tl.f("reg_loss", out.Loss, dec[float64](t, c.Expected, "reg_loss"))
			tl.f3("grad_logits", out.Grad, dec[[][][]float64](t, c.Expected, "grad_logits"))

			ctl := NewAEntCoef(cfg)
			ctl.SetState(AEntCoefState{Coef: dec[float64](t, c.StateBefore, "entropy_coeff")})
			mean, _ := ctl.Metric()
			ctl.Update(out.Metrics[mean], dec[int](t, c.StateBefore, "global_step"))
			tl.f("entropy_coeff_after", ctl.Coef(), dec[float64](t, c.Expected, "entropy_coeff_after"))
		})
	}
}

func TestKeepSetTies(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  []float64
		k    int
		want []bool
	}{
		{"none", []float64{3, 1, 2}, 0, []bool{true, true, true}},
		{"one", []float64{3, 1, 2}, 1, []bool{true, false, true}},
		{"ties_low_index_first", []float64{1, 0, 1, 1}, 2, []bool{false, false, true, true}},
		{"all", []float64{3, 1, 2}, 3, []bool{false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep := make([]bool, len(tc.row))
			KeepSet(keep, tc.row, tc.k, make([]float64, len(tc.row)))
			for i := range keep {
				if keep[i] != tc.want[i] {
					t.Fatalf("KeepSet(%v, k=%d) = %v, want %v", tc.row, tc.k, keep, tc.want)
				}
			}
		})
	}
}

// TestClampedZeroEqualsPlain: with p = 0 the clamped entropy is the entropy.
func TestClampedZeroEqualsPlain(t *testing.T) {
	row := []float64{0.3, -1.2, 2.5, 0, 0.7}
	keep := []bool{true, true, true, true, true}
	g1, g2 := make([]float64, 5), make([]float64, 5)
	h1 := ClampedEntropyGrad(g1, row, keep, 0.8)
	h2 := TokenEntropyGrad(g2, row, 0.8)
	if math.Abs(h1-h2) > 1e-14 {
		t.Errorf("ClampedEntropyGrad = %v, TokenEntropyGrad = %v", h1, h2)
	}
	for v := range g1 {
		if math.Abs(g1[v]-g2[v]) > 1e-14 {
			t.Errorf("grad[%d] = %v, want %v", v, g1[v], g2[v])
		}
	}
}

func TestAEntCoefBranches(t *testing.T) {
	cfg := DefaultAEntConfig()
	cfg.AdaptiveCoeff = true
	cfg.EntropyLow, cfg.EntropyHigh, cfg.CoeffLR, cfg.WarmupSteps = 0.1, 0.5, 0.001, 2
	for _, tc := range []struct {
		name       string
		c0, h      float64
		step       int
		want       float64
		adaptiveOn bool
	}{
		{"warmup_keeps_out_of_box", 0.5, 0.0, 2, 0.5, true},
		{"below_grows", 0.001, 0.0, 3, 0.001 + 0.001*0.1, true},
		{"above_shrinks_to_box", 0.001, 10, 3, cfg.CoeffBoxLow, true},
		{"in_band", 0.001, 0.3, 3, 0.001, true},
		{"off", 0.001, 0.0, 3, 0.001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.AdaptiveCoeff = tc.adaptiveOn
			ctl := NewAEntCoef(c)
			ctl.SetState(AEntCoefState{Coef: tc.c0})
			ctl.Update(tc.h, tc.step)
			if got := ctl.Coef(); math.Abs(got-tc.want) > 1e-15 {
				t.Errorf("Update(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
