package entropy

import (
	"math"
	"testing"
)

// TestGoldenMechanism checks every case of entropy_mechanism.json.
func TestGoldenMechanism(t *testing.T) {
	g := loadGolden(t, "entropy_mechanism.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tl := newTol(t, g, c)
			switch c.Kind {
			case "identity":
				z := dec[[][]float64](t, c.Inputs, "logits")
				dz := dec[[][]float64](t, c.Inputs, "delta_logits")
				var before, after, act, pred, res []float64
				for s := range z {
					z1 := make([]float64, len(z[s]))
					for v := range z1 {
						z1[v] = z[s][v] + dz[s][v]
					}
					before = append(before, TokenEntropy(z[s], 1))
					after = append(after, TokenEntropy(z1, 1))
					a, p := ActualChange(z[s], z1, 1), PredictedChange(z[s], dz[s], 1)
					act, pred, res = append(act, a), append(pred, p), append(res, a-p)
				}
				tl.f1("entropy_before", before, dec[[]float64](t, c.Expected, "entropy_before"))
				tl.f1("entropy_after", after, dec[[]float64](t, c.Expected, "entropy_after"))
				tl.f1("actual_change", act, dec[[]float64](t, c.Expected, "actual_change"))
				tl.f1("predicted_change", pred, dec[[]float64](t, c.Expected, "predicted_change"))
				tl.f1("residual", res, dec[[]float64](t, c.Expected, "residual"))
			case "pg_npg":
				z := dec[[][]float64](t, c.Inputs, "logits")
				adv := dec[[][]float64](t, c.Inputs, "advantages_full")
				eta := dec[float64](t, c.Hyper, "eta")
				var dpg, dnpg [][]float64
				var ppg, apg, pnpg, anpg []float64
				for s := range z {
					d1 := PGDelta(make([]float64, len(z[s])), z[s], adv[s], eta)
					d2 := NPGDelta(make([]float64, len(z[s])), adv[s], eta)
					dpg, dnpg = append(dpg, d1), append(dnpg, d2)
					ppg = append(ppg, PredictedChange(z[s], d1, 1))
					pnpg = append(pnpg, PredictedChange(z[s], d2, 1))
					apg = append(apg, ActualChange(z[s], add(z[s], d1), 1))
					anpg = append(anpg, ActualChange(z[s], add(z[s], d2), 1))
				}
				tl.f2("delta_logits_pg", dpg, dec[[][]float64](t, c.Expected, "delta_logits_pg"))
				tl.f1("predicted_change_pg", ppg, dec[[]float64](t, c.Expected, "predicted_change_pg"))
				tl.f1("actual_change_pg", apg, dec[[]float64](t, c.Expected, "actual_change_pg"))
				tl.f2("delta_logits_npg", dnpg, dec[[][]float64](t, c.Expected, "delta_logits_npg"))
				tl.f1("predicted_change_npg", pnpg, dec[[]float64](t, c.Expected, "predicted_change_npg"))
				tl.f1("actual_change_npg", anpg, dec[[]float64](t, c.Expected, "actual_change_npg"))
			case "tabular_sgd":
				z := dec[[][][]float64](t, c.Inputs, "logits")
				actions := dec[[][]int](t, c.Inputs, "actions")
				mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
				adv := dec[[][]float64](t, c.Inputs, "advantages")
				lr := dec[float64](t, c.Hyper, "lr")
				// loss = token-mean of −A·log π(a): ∂loss/∂ℓ = −A·m/Σm.
				logp := LogProbs(nil, z, actions, 1)
				w := AggWeights(nil, mask, TokenMean, 0)
				gl := make([][]float64, len(mask))
				loss := 0.0
				for b := range mask {
					gl[b] = make([]float64, len(mask[b]))
					for i := range mask[b] {
						gl[b][i] = -adv[b][i] * w[b][i]
						loss += gl[b][i] * logp[b][i]
					}
				}
				tl.f("loss", loss, dec[float64](t, c.Expected, "loss"))
				grad := BackpropLogp(nil, gl, z, actions, 1)
				tl.f3("grad_logits", grad, dec[[][][]float64](t, c.Expected, "grad_logits"))
				after := ensure3(nil, z)
				delta := ensure3(nil, z)
				for b := range z {
					for i := range z[b] {
						for v := range z[b][i] {
							delta[b][i][v] = -lr * grad[b][i][v]
							after[b][i][v] = z[b][i][v] + delta[b][i][v]
						}
					}
				}
				tl.f3("delta_logits", delta, dec[[][][]float64](t, c.Expected, "delta_logits"))
				pred, act, rep := MeasureMechanism(nil, nil, z, after, mask, 1)
				tl.f2("predicted_change", pred, dec[[][]float64](t, c.Expected, "predicted_change"))
				tl.f2("actual_change", act, dec[[][]float64](t, c.Expected, "actual_change"))
				tl.f("predicted_change_token_mean", rep.PredMean, dec[float64](t, c.Expected, "predicted_change_token_mean"))
				tl.f("actual_change_token_mean", rep.ActMean, dec[float64](t, c.Expected, "actual_change_token_mean"))
				if rep.Corr < 0.9 {
					t.Errorf("MeasureMechanism corr = %v; first order should track the change", rep.Corr)
				}
			case "batch_proxy":
				z := dec[[][][]float64](t, c.Inputs, "logits")
				actions := dec[[][]int](t, c.Inputs, "actions")
				mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
				adv := dec[[][]float64](t, c.Inputs, "advantages")
				logp := LogProbs(nil, z, actions, 1)
				tl.f2("log_prob", logp, dec[[][]float64](t, c.Expected, "log_prob"))
				npg, pg, cn, cp := BatchProxy(nil, nil, logp, adv, mask)
				tl.f2("centered_product_npg", npg, dec[[][]float64](t, c.Expected, "centered_product_npg"))
				tl.f2("centered_product_pg", pg, dec[[][]float64](t, c.Expected, "centered_product_pg"))
				tl.f("batch_cov_npg", cn, dec[float64](t, c.Expected, "batch_cov_npg"))
				tl.f("batch_cov_pg", cp, dec[float64](t, c.Expected, "batch_cov_pg"))
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
}

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// TestPredictedChangeMatchesGradient: −Cov(log π, Δu) equals Σ ∂H/∂z·Δz,
// and is invariant to a constant shift of Δz, at any temperature.
func TestPredictedChangeMatchesGradient(t *testing.T) {
	row := []float64{0.5, -1, 2, 0.1, 3}
	dz := []float64{0.01, -0.02, 0.03, 0.005, -0.01}
	for _, tau := range []float64{0.5, 1, 1.7} {
		g := make([]float64, len(row))
		TokenEntropyGrad(g, row, tau)
		lin := 0.0
		for v := range g {
			lin += g[v] * dz[v]
		}
		p := PredictedChange(row, dz, tau)
		shift := PredictedChange(row, add(dz, []float64{5, 5, 5, 5, 5}), tau)
		if math.Abs(p-lin) > 1e-14 || math.Abs(p-shift) > 1e-12 {
			t.Errorf("PredictedChange(τ=%v) = %v, gradient form %v, shifted %v", tau, p, lin, shift)
		}
	}
}
