package entropy

import (
	"encoding/json"
	"github.com/entrolab/entrolab/pg"
	"testing"
)

// TestGoldenAEPO replays every case of entropy_aepo.json: temperature
// switch, pool advantages, selection, sample count, assembly, the EasyR1 loss
// and its logits gradients, and the next entropy estimate.
func TestGoldenAEPO(t *testing.T) {
	g := loadGolden(t, "entropy_aepo.json")
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Kind != "aepo_step" {
				t.Fatalf("unknown kind %q", c.Kind)
			}
			tl := newTol(t, g, c)
			poolLogits := dec[[][][]float64](t, c.Inputs, "pool_logits")
			poolOld := dec[[][][]float64](t, c.Inputs, "pool_old_logits")
			poolActions := dec[[][]int](t, c.Inputs, "pool_actions")
			poolMask := toF2(dec[[][]int](t, c.Inputs, "pool_mask"))
			poolRewards := dec[[]float64](t, c.Inputs, "pool_rewards")
			poolGroups := dec[[]int](t, c.Inputs, "pool_group_ids")
			regLogits := dec[[][][]float64](t, c.Inputs, "regular_logits")
			regOld := dec[[][][]float64](t, c.Inputs, "regular_old_logits")
			regActions := dec[[][]int](t, c.Inputs, "regular_actions")
			regMask := toF2(dec[[][]int](t, c.Inputs, "regular_mask"))
			regAdv := dec[[]float64](t, c.Inputs, "regular_seq_advantages")

			cfg := AEPOConfig{
				EntropyBase:        dec[float64](t, c.Hyper, "entropy_base"),
				TemperatureHigh:    dec[float64](t, c.Hyper, "temperature_high"),
				TemperatureLow:     dec[float64](t, c.Hyper, "temperature_low"),
				ReinforceSampleNum: dec[int](t, c.Hyper, "reinforce_sample_num"),
				AdvThreshold:       dec[float64](t, c.Hyper, "adv_threshold"),
				GRPOEps:            dec[float64](t, c.Hyper, "grpo_eps"),
			}
			lcfg := AEPOLossConfig{
				ClipLow:  dec[float64](t, c.Hyper, "clip_ratio_low"),
				ClipHigh: dec[float64](t, c.Hyper, "clip_ratio_high"),
				ClipDual: dec[float64](t, c.Hyper, "clip_ratio_dual"),
				Agg:      TokenMean,
			}
			trainTau := dec[float64](t, c.Hyper, "train_temperature")
			ctl, err := NewAEPO(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctl.SetState(AEPOState{EntropyPrev: dec[float64](t, c.StateBefore, "entropy_prev")})

			T := ctl.Temperature()
			tl.f("rollout_temperature", T, dec[float64](t, c.Expected, "rollout_temperature"))
			poolAdv := PoolAdvantages(nil, poolRewards, poolGroups, cfg.GRPOEps)
			tl.f1("pool_advantages", poolAdv, dec[[]float64](t, c.Expected, "pool_advantages"))
			sel := ctl.Select(nil, poolAdv)
			wantSel := dec[[]int](t, c.Expected, "selected_pool_indices")
			if len(sel) != len(wantSel) {
				t.Fatalf("Select = %v, want %v", sel, wantSel)
			}
			for i := range sel {
				tl.i("selected_pool_indices", sel[i], wantSel[i])
			}
			n := len(regLogits)
			s := ctl.SampleNum(len(sel), n)
			tl.i("sample_num", s, dec[int](t, c.Expected, "sample_num"))
			src := Assemble(nil, sel, s, n)
			var wantSrc [][2]json.RawMessage
			wantSrc = dec[[][2]json.RawMessage](t, c.Expected, "assembled_sources")
			if len(src) != len(wantSrc) {
				t.Fatalf("Assemble: %d rows, want %d", len(src), len(wantSrc))
			}
			for i, w := range wantSrc {
				var kind string
				var idx int
				_ = json.Unmarshal(w[0], &kind)
				_ = json.Unmarshal(w[1], &idx)
				if src[i].Pool != (kind == "pool") || src[i].Index != idx {
					t.Errorf("Assemble[%d] = %+v, want [%s %d]", i, src[i], kind, idx)
				}
			}

			// Assemble the batch (old log-probs and log-probs at τ = 1).
			logits := make([][][]float64, n)
			actions := make([][]int, n)
			mask := make([][]float64, n)
			adv := make([][]float64, n)
			old := make([][][]float64, n)
			for i, sr := range src {
				if sr.Pool {
					logits[i], old[i], actions[i], mask[i] = poolLogits[sr.Index], poolOld[sr.Index], poolActions[sr.Index], poolMask[sr.Index]
					adv[i] = make([]float64, len(mask[i]))
					for j := range adv[i] {
						adv[i][j] = 1
					}
				} else {
					logits[i], old[i], actions[i], mask[i] = regLogits[sr.Index], regOld[sr.Index], regActions[sr.Index], regMask[sr.Index]
					adv[i] = make([]float64, len(mask[i]))
					for j := range adv[i] {
						adv[i][j] = regAdv[sr.Index]
					}
				}
			}
			tl.f2("assembled_advantages", adv, dec[[][]float64](t, c.Expected, "assembled_advantages"))
			tl.i2("assembled_mask", mask, dec[[][]int](t, c.Expected, "assembled_mask"))
			logp := LogProbs(nil, logits, actions, trainTau)
			oldLogp := LogProbs(nil, old, actions, trainTau)
			tl.f2("assembled_log_prob", logp, dec[[][]float64](t, c.Expected, "assembled_log_prob"))
			tl.f2("assembled_old_log_prob", oldLogp, dec[[][]float64](t, c.Expected, "assembled_old_log_prob"))
			ratio := make([][]float64, n)
			p := dualClip{low: lcfg.ClipLow, high: lcfg.ClipHigh, c: lcfg.ClipDual, logSpace: true}
			for i := range logp {
				ratio[i] = make([]float64, len(logp[i]))
				for j := range logp[i] {
					ratio[i][j] = p.token(logp[i][j], oldLogp[i][j], adv[i][j]).ratio
				}
			}
			tl.f2("assembled_ratio", ratio, dec[[][]float64](t, c.Expected, "assembled_ratio"))

			loss, err := NewPolicyLoss(PolicyConfig{Name: "aepo", AEPO: lcfg})
			if err != nil {
				t.Fatal(err)
			}
			out, err := loss.Compute(nil, pg.Input{Logp: logp, OldLogp: oldLogp, Adv: adv, Mask: mask})
			if err != nil {
				t.Fatal(err)
			}
			tl.f("loss", out.Loss, dec[float64](t, c.Expected, "loss"))
			grad := BackpropLogp(nil, out.Grad, logits, actions, trainTau)
			gPool := ensure3(nil, poolLogits)
			gReg := ensure3(nil, regLogits)
			for i, sr := range src {
				var dst [][]float64
				if sr.Pool {
					dst = gPool[sr.Index]
				} else {
					dst = gReg[sr.Index]
				}
				for j := range dst {
					copy(dst[j], grad[i][j])
				}
			}
			tl.f3("grad_pool_logits", gPool, dec[[][][]float64](t, c.Expected, "grad_pool_logits"))
			tl.f3("grad_regular_logits", gReg, dec[[][][]float64](t, c.Expected, "grad_regular_logits"))

			next := SampledNLL(logp, mask) // what the trainer records as actor/sampled_nll
			tl.f("entropy_estimate_next", next, dec[float64](t, c.Expected, "entropy_estimate_next"))
			tl.f2("pool_entropy_at_rollout_temperature", Entropies(nil, poolLogits, T), dec[[][]float64](t, c.Expected, "pool_entropy_at_rollout_temperature"))
			tl.f2("pool_entropy_at_T1", Entropies(nil, poolLogits, 1), dec[[][]float64](t, c.Expected, "pool_entropy_at_T1"))
			ctl.Update(next)
			tl.f("state_after.entropy_prev", ctl.State().EntropyPrev, dec[float64](t, c.StateAfter, "entropy_prev"))
		})
	}
}

func TestAEPOSampleNum(t *testing.T) {
	cfg := DefaultAEPOConfig()
	cfg.ReinforceSampleNum = 4
	for _, tc := range []struct {
		name        string
		prev        float64
		selected, n int
		want        int
		wantTemp    float64
	}{
		{"below_capped_by_R", 0.2, 9, 10, 4, 1.2},
		{"at_target_uses_high", 0.5, 3, 10, 3, 1.2},
		{"above_halved", 0.9, 9, 10, 2, 0.8},
		{"above_halved_floor", 0.9, 3, 10, 1, 0.8},
		{"none_selected", 0.1, 0, 10, 0, 1.2},
		{"capped_by_batch", 0.1, 9, 2, 2, 1.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := NewAEPO(cfg)
			a.SetState(AEPOState{EntropyPrev: tc.prev})
			if got := a.SampleNum(tc.selected, tc.n); got != tc.want {
				t.Errorf("SampleNum(%d, %d) = %d, want %d", tc.selected, tc.n, got, tc.want)
			}
			if got := a.Temperature(); got != tc.wantTemp {
				t.Errorf("Temperature() = %v, want %v", got, tc.wantTemp)
			}
		})
	}
	if PoolPromptCount(513) != 128 {
		t.Errorf("PoolPromptCount(513) = %d, want 128", PoolPromptCount(513))
	}
}
