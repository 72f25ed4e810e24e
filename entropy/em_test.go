package entropy

import "testing"

// TestGoldenEM checks every case of entropy_em.json: EM-FT loss and
// gradient, and the four EM-RL reward variants.
func TestGoldenEM(t *testing.T) {
	g := loadGolden(t, "entropy_em.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Kind != "em" {
				t.Fatalf("unknown kind %q", c.Kind)
			}
			tl := newTol(t, g, c)
			logits := dec[[][][]float64](t, c.Inputs, "logits")
			actions := dec[[][]int](t, c.Inputs, "actions")
			mask := toF2(dec[[][]int](t, c.Inputs, "mask"))
			tau := dec[float64](t, c.Hyper, "temperature")
			ent := Entropies(nil, logits, tau)
			logp := LogProbs(nil, logits, actions, tau)
			tl.f2("entropy", ent, dec[[][]float64](t, c.Expected, "entropy"))
			tl.f2("log_prob", logp, dec[[][]float64](t, c.Expected, "log_prob"))

			cfg := DefaultConfig()
			cfg.Name = "em"
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Regularize(nil, Input{Logits: logits, Mask: mask, Temperature: tau})
			if err != nil {
				t.Fatal(err)
			}
			tl.f("emft_loss", out.Loss, dec[float64](t, c.Expected, "emft_loss"))
			tl.f3("emft_grad_logits", out.Grad, dec[[][][]float64](t, c.Expected, "emft_grad_logits"))

			for _, v := range []struct {
				key, reward string
				perToken    bool
			}{
				{"reward_traj", "traj", false},
				{"reward_tok", "token", false},
				{"reward_traj_per_token", "traj", true},
				{"reward_tok_per_token", "token", true},
			} {
				got := EMRLRewards(nil, EMConfig{Reward: v.reward, PerToken: v.perToken}, logp, ent, mask)
				tl.f1(v.key, got, dec[[]float64](t, c.Expected, v.key))
			}
		})
	}
}
