package entropy

import (
	"github.com/entrolab/entrolab/masked"
	"github.com/entrolab/entrolab/pg"
	"math"
	"testing"
)

// TestGoldenSteer checks every case of entropy_steer.json. The loss works on
// log-probs; BackpropLogp chains its gradient to the logits the golden
// gradient is taken against (τ = 1).
func TestGoldenSteer(t *testing.T) {
	g := loadGolden(t, "entropy_steer.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Kind != "steer_policy_loss" {
				t.Fatalf("unknown kind %q", c.Kind)
			}
			tl := newTol(t, g, c)
			oldLogits := dec[[][][]float64](t, c.Inputs, "logits_old")
			logits := dec[[][][]float64](t, c.Inputs, "logits")
			actions := dec[[][]int](t, c.Inputs, "actions")
			mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
			adv := dec[[][]float64](t, c.Inputs, "advantages")
			cfg := SteerConfig{
				ClipLow:   dec[float64](t, c.Hyper, "clip_ratio_low"),
				ClipHigh:  dec[float64](t, c.Hyper, "clip_ratio_high"),
				ClipC:     dec[float64](t, c.Hyper, "clip_ratio_c"),
				Agg:       masked.Agg{Mode: AggMode(dec[string](t, c.Hyper, "loss_agg_mode"))},
				WeightMin: dec[float64](t, c.Hyper, "token_weight_min"),
				WeightMax: dec[float64](t, c.Hyper, "token_weight_max"),
				Linear:    dec[bool](t, c.Hyper, "linear"),
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			oldEnt := Entropies(nil, oldLogits, 1)
			oldLogp := LogProbs(nil, oldLogits, actions, 1)
			logp := LogProbs(nil, logits, actions, 1)
			tl.f2("entropy_old", oldEnt, dec[[][]float64](t, c.Expected, "entropy_old"))
			tl.f2("old_log_prob", oldLogp, dec[[][]float64](t, c.Expected, "old_log_prob"))
			tl.f2("log_prob", logp, dec[[][]float64](t, c.Expected, "log_prob"))

			delta, omega := SteerEstimate(nil, nil, logp, oldLogp, oldEnt, adv)
			tl.f2("delta", delta, dec[[][]float64](t, c.Expected, "delta"))
			tl.f2("omega", omega, dec[[][]float64](t, c.Expected, "omega"))
			w, _, _ := SteerWeights(nil, omega, mask, cfg.WeightMin, cfg.WeightMax, cfg.Linear)
			tl.f2("token_weights", w, dec[[][]float64](t, c.Expected, "token_weights"))

			// Per-token PPO diagnostics at every position, as the file gives them.
			s := NewSteer(cfg)
			p := s.ppo()
			ratio := make([][]float64, len(logp))
			pgl := make([][]float64, len(logp))
			clipped := make([][]float64, len(logp))
			dual := make([][]float64, len(logp))
			for b := range logp {
				ratio[b] = make([]float64, len(logp[b]))
				pgl[b] = make([]float64, len(logp[b]))
				clipped[b] = make([]float64, len(logp[b]))
				dual[b] = make([]float64, len(logp[b]))
				for i := range logp[b] {
					tok := p.token(logp[b][i], oldLogp[b][i], adv[b][i])
					ratio[b][i], pgl[b][i] = tok.ratio, tok.pg
					if tok.clipped && mask[b][i] != 0 {
						clipped[b][i] = 1
					}
					if tok.lower && mask[b][i] != 0 {
						dual[b][i] = 1
					}
				}
			}
			tl.f2("ratio", ratio, dec[[][]float64](t, c.Expected, "ratio"))
			tl.f2("pg_losses_unweighted", pgl, dec[[][]float64](t, c.Expected, "pg_losses_unweighted"))
			tl.i2("clipped", clipped, dec[[][]int](t, c.Expected, "clipped"))
			tl.i2("dual_clipped", dual, dec[[][]int](t, c.Expected, "dual_clipped"))

			out, err := s.Compute(nil, pg.Input{Logp: logp, OldLogp: oldLogp, Adv: adv, Mask: mask, OldEntropy: oldEnt})
			if err != nil {
				t.Fatal(err)
			}
			tl.f("loss", out.Loss, dec[float64](t, c.Expected, "loss"))
			tl.f("token_weights_mean_valid", out.Metrics["steer/weight_mean"], dec[float64](t, c.Expected, "token_weights_mean_valid"))
			grad := BackpropLogp(nil, out.Grad, logits, actions, 1)
			tl.f3("grad_logits", grad, dec[[][][]float64](t, c.Expected, "grad_logits"))
		})
	}
}

func TestSteerNeedsOldEntropy(t *testing.T) {
	s := NewSteer(DefaultSteerConfig())
	if !s.Needs().OldEntropy {
		t.Fatal("Needs().OldEntropy = false")
	}
	one := [][]float64{{0}}
	if _, err := s.Compute(nil, pg.Input{Logp: one, OldLogp: one, Adv: one, Mask: [][]float64{{1}}}); err == nil {
		t.Fatal("Loss without OldEntropy: nil error")
	}
}

func TestSteerWeightsHand(t *testing.T) {
	// Ω = [0, 1, 2] valid: linear [0.8, 1.2] maps 0→1.2, 1→1.0, 2→0.8.
	// Exp with w_min 0.5: κ = ln2/2, w = [1, 2^-1/2, 0.5].
	om := [][]float64{{0, 1, 2, 7}}
	m := [][]float64{{1, 1, 1, 0}}
	for _, tc := range []struct {
		name   string
		lin    bool
		lo, hi float64
		want   []float64
	}{
		{"linear", true, 0.8, 1.2, []float64{1.2, 1.0, 0.8, 0}},
		{"exp", false, 0.5, 1, []float64{1, math.Sqrt(0.5), 0.5, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _, _ := SteerWeights(nil, om, m, tc.lo, tc.hi, tc.lin)
			for i, x := range tc.want {
				if math.Abs(w[0][i]-x) > 1e-12 {
					t.Errorf("SteerWeights(%s) = %v, want %v", tc.name, w[0], tc.want)
					break
				}
			}
		})
	}
}
