package trainer

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/clip"
	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
)

// score turns verifier scores into the rewards the estimator sees: EM-RL's
// entropy reward replaces them, a KL-in-reward penalty is subtracted.
func (t *Trainer) score(batch []*sample, m map[string]float64) error {
	scores := make([]float64, len(batch))
	correct := 0.0
	for i, s := range batch {
		scores[i] = s.score.Reward
		if s.score.Correct {
			correct++
		}
	}
	stats(m, "critic/score", scores)
	m["critic/accuracy"] = correct / float64(len(batch))
	verdicts := make([]reward.Score, len(batch))
	for i, s := range batch {
		verdicts[i] = s.score
	}
	for k, v := range reward.MetricMeans(verdicts) { // a reward command's extra fields
		m[k] = v
	}
	a := t.Cfg.Algorithm
	if a.EMRL.Enabled {
		lp, ent, mask := rows(batch, func(s *sample) []float64 { return s.old }), rows(batch, func(s *sample) []float64 { return s.oldEnt }), masks(batch)
		r := entropy.EMRLRewards(nil, a.EMRL.EMConfig, lp, ent, mask)
		for i, s := range batch {
			s.reward = r[i]
		}
	}
	if t.Cfg.Algorithm.KL.Mode == "reward" {
		var klSum float64
		var toks int
		for _, s := range batch {
			var kl float64
			for i := range s.old {
				v, _ := t.klEst.Eval(s.old[i] - s.ref[i])
				kl += v
			}
			s.reward -= a.KL.Coef * kl
			klSum += kl
			toks += s.n()
		}
		if toks > 0 {
			m["actor/reward_kl_penalty"] = klSum / float64(toks)
			m["actor/reward_kl_penalty_coeff"] = a.KL.Coef
		}
	}
	rs := make([]float64, len(batch))
	for i, s := range batch {
		rs[i] = s.reward
	}
	stats(m, "critic/rewards", rs)
	return nil
}

func rows(batch []*sample, f func(*sample) []float64) [][]float64 {
	out := make([][]float64, len(batch))
	for i, s := range batch {
		out[i] = f(s)
	}
	return out
}

func masks(batch []*sample) [][]float64 {
	return rows(batch, func(s *sample) []float64 { return s.mask })
}

// estimate computes per-token advantages, and the 80/20 token mask.
func (t *Trainer) estimate(batch []*sample, m map[string]float64) error {
	in := advantage.Input{Rewards: make([]float64, len(batch)), Group: make([]int, len(batch)), Mask: masks(batch)}
	for i, s := range batch {
		in.Rewards[i], in.Group[i] = s.reward, s.group
	}
	needs := t.est.Needs()
	if needs.RefRewards {
		// AAPO: the frozen base policy answers the same prompts; response b
		// is paired with the base's completion at the same place in its group
		var probs []reward.Problem
		first := map[int]int{} // group -> index of its prompt in probs
		for _, s := range batch {
			if _, ok := first[s.group]; !ok && s.group >= 0 {
				first[s.group] = len(probs)
				probs = append(probs, s.prob)
			}
		}
		ref, err := t.generate(t.refEng, probs, t.sampling(t.Cfg.Sampling.GroupSize))
		if err != nil {
			return err
		}
		in.RefRewards = make([]float64, len(batch))
		seen := map[int]int{}
		for i, s := range batch {
			in.RefRewards[i] = ref[first[s.group]*t.Cfg.Sampling.GroupSize+seen[s.group]].reward
			seen[s.group]++
		}
		m["aapo/ref_score_mean"] = mean(in.RefRewards)
	}
	if needs.TokenRewards {
		in.TokenRewards = advantage.Alloc(in.Mask)
		if err := advantage.OutcomeTokenRewards(in.TokenRewards, in.Rewards, in.Mask); err != nil {
			return err
		}
	}
	dst := advantage.Alloc(in.Mask)
	if err := t.est.Estimate(dst, in); err != nil {
		return err
	}
	var all []float64
	zeroStd, groups := 0, 0
	byGroup := map[int][]float64{}
	for i, s := range batch {
		s.adv = dst[i]
		if s.group < 0 { // AEPO pool sample: advantage 1 on every token
			for j := range s.adv {
				s.adv[j] = 1
			}
		}
		all = append(all, s.adv...)
		if s.group >= 0 {
			byGroup[s.group] = append(byGroup[s.group], s.score.Reward)
		}
	}
	for _, rs := range byGroup {
		groups++
		if variance(rs) == 0 {
			zeroStd++
		}
	}
	stats(m, "critic/advantages", all)
	if groups > 0 {
		m["frac_reward_zero_std"] = float64(zeroStd) / float64(groups)
	}
	if q := t.Cfg.Algorithm.TopEntropyQuantile; q < 1 {
		k, thr, kept := t.mask.Apply(nil, rows(batch, func(s *sample) []float64 { return s.oldEnt }), masks(batch))
		for i, s := range batch {
			copy(s.mask, k[i])
		}
		m["entropy/high_mask_threshold"] = thr
		m["entropy/high_mask_kept"] = float64(kept)
	}
	return nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / math.Max(1, float64(len(xs)))
}

func variance(xs []float64) float64 {
	mu := mean(xs)
	var v float64
	for _, x := range xs {
		v += (x - mu) * (x - mu)
	}
	return v / math.Max(1, float64(len(xs)))
}

// metricAcc averages metrics over the micro-batches of a step.
type metricAcc struct {
	sum map[string]float64
	n   map[string]float64
	max map[string]float64
}

func newAcc() *metricAcc {
	return &metricAcc{sum: map[string]float64{}, n: map[string]float64{}, max: map[string]float64{}}
}

func (a *metricAcc) add(k string, v float64) { a.sum[k] += v; a.n[k]++ }

func (a *metricAcc) peak(k string, v float64) {
	if old, ok := a.max[k]; !ok || v > old {
		a.max[k] = v
	}
}

func (a *metricAcc) into(m map[string]float64) {
	for k, s := range a.sum {
		m[k] = s / a.n[k]
	}
	for k, v := range a.max {
		m[k] = v
	}
}

// update runs ppo_epochs × mini-batches of optimizer steps.
func (t *Trainer) update(batch []*sample, m map[string]float64) error {
	tc := t.Cfg.Train
	mini := len(batch) / tc.MiniBatches
	micro := tc.MicroBatch
	if micro == 0 {
		micro = mini
	}
	acc := newAcc()
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	firstUpdate := true
	for ep := 0; ep < tc.PPOEpochs; ep++ {
		if ep > 0 || tc.MiniBatches > 1 {
			t.shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for mb := 0; mb < tc.MiniBatches; mb++ {
			idx := order[mb*mini : (mb+1)*mini]
			nMicro := mini / micro
			for k := 0; k < nMicro; k++ {
				part := make([]*sample, micro)
				for i, j := range idx[k*micro : (k+1)*micro] {
					part[i] = batch[j]
				}
				if err := t.stopped(); err != nil {
					return err
				}
				bt, from := t.pack(part)
				obj := t.objective(part, bt, from, float64(nMicro), acc, firstUpdate)
				if _, _, err := t.Model.Accumulate(bt, t.Cfg.Sampling.Temperature, obj); err != nil {
					return err
				}
			}
			st, err := t.Model.Step(t.Opt)
			if err != nil {
				return err
			}
			acc.add("actor/grad_norm", st.GradNorm)
			m["actor/lr"] = st.LR
			firstUpdate = false
		}
	}
	acc.into(m)
	return nil
}

// objective adapts the policy head's outputs for one micro-batch to the
// algorithm packages' [b][t] slices and back.
func (t *Trainer) objective(part []*sample, bt *policy.Batch, from []int, nMicro float64, acc *metricAcc, onPolicy bool) policy.Objective {
	return func(in *policy.HeadInput, g *policy.HeadGrad) (float64, map[string]float64, error) {
		B, T, V := in.B, in.T, in.V
		logp := make([][]float64, B)
		ent := make([][]float64, B)
		old, adv, mask, oldEnt, ref := rows(part, func(s *sample) []float64 { return s.old }), rows(part, func(s *sample) []float64 { return s.adv }), masks(part), rows(part, func(s *sample) []float64 { return s.oldEnt }), rows(part, func(s *sample) []float64 { return s.ref })
		var entSum, nllSum, tokN, mis float64
		for b, s := range part {
			o := b*T + from[b] - 1
			logp[b] = in.Logp[o : o+s.n()]
			ent[b] = in.Entropy[o : o+s.n()]
			for j := range logp[b] {
				entSum += ent[b][j]
				nllSum -= logp[b][j]
				tokN++
				if onPolicy {
					// the old log-probs in use (the sampler's unless they were
					// recomputed) against this on-policy forward pass
					mis = math.Max(mis, math.Abs(logp[b][j]-s.old[j]))
				}
			}
			if onPolicy && t.Cfg.Log.Diagnostics {
				s.before = append(s.before[:0], in.Logits[o*V:(o+s.n())*V]...)
			}
		}
		scale := 1 / nMicro
		var total float64
		grad := make([][]float64, B)
		var metrics map[string]float64
		if t.loss != nil {
			in := clip.Input{Logp: logp, OldLogp: old, Adv: adv, Mask: mask, Entropy: ent, RefLogp: ref, Rand: t.clipRng}
			res, err := t.loss.Compute(grad, in)
			if err != nil {
				return 0, nil, err
			}
			total, grad, metrics = res.Loss, res.Grad, res.Metrics
		} else {
			res, err := t.eloss.Loss(grad, entropy.PolicyInput{Logp: logp, OldLogp: old, Adv: adv, Mask: mask, OldEntropy: oldEnt})
			if err != nil {
				return 0, nil, err
			}
			total, grad, metrics = res.Loss, res.Grad, res.Metrics
		}
		for k, v := range metrics {
			acc.add("actor/"+k, v)
		}
		for b, s := range part {
			o := b*T + from[b] - 1
			for j := 0; j < s.n(); j++ {
				g.Logp[o+j] += grad[b][j] * scale
			}
		}
		if t.kl != nil {
			res, err := t.kl.Compute(nil, clip.Input{Logp: logp, RefLogp: ref, Mask: mask})
			if err != nil {
				return 0, nil, err
			}
			total += res.Loss
			acc.add("actor/kl_loss", res.Metrics["kl_loss"])
			acc.add("actor/kl_coef", res.Metrics["kl_coef"])
			for b, s := range part {
				o := b*T + from[b] - 1
				for j := 0; j < s.n(); j++ {
					g.Logp[o+j] += res.Grad[b][j] * scale
				}
			}
		}
		if t.Cfg.Algorithm.Entropy.Name != "none" {
			if tu, ok := t.reg.(entropy.Tunable); ok && t.coef != nil {
				tu.SetCoef(t.coef.Coef())
			}
			logits := make([][][]float64, B)
			actions := make([][]int, B)
			for b, s := range part {
				o := b*T + from[b] - 1
				logits[b] = make([][]float64, s.n())
				actions[b] = make([]int, s.n())
				for j := range logits[b] {
					row := make([]float64, V)
					for v, x := range in.Logits[(o+j)*V : (o+j+1)*V] {
						row[v] = float64(x)
					}
					logits[b][j] = row
					actions[b][j] = int(s.seq.Tokens[j])
				}
			}
			res, err := t.reg.Regularize(nil, entropy.Input{Logits: logits, Mask: mask, Temperature: t.Cfg.Sampling.Temperature, Actions: actions})
			if err != nil {
				return 0, nil, err
			}
			total += res.Loss
			acc.add("actor/entropy_loss", res.Loss)
			for k, v := range res.Metrics {
				acc.add(k, v)
			}
			for b, s := range part {
				o := b*T + from[b] - 1
				for j := 0; j < s.n(); j++ {
					dst := g.Logits[(o+j)*V : (o+j+1)*V]
					for v, x := range res.Grad[b][j] {
						dst[v] += float32(x * scale)
					}
				}
			}
		}
		if tokN > 0 {
			acc.add("actor/entropy", entSum/tokN)
			acc.add("actor/sampled_nll", nllSum/tokN)
		}
		if onPolicy {
			acc.peak("rollout/logp_mismatch_max", mis)
		}
		acc.add("actor/pg_loss_total", total)
		return total * scale, nil, nil
	}
}

// diagnose compares the first-order predicted entropy change from the
// measured logit change with the measured change, on the step's tokens
// whose pre-update logits were captured (all of them with one mini-batch).
func (t *Trainer) diagnose(batch []*sample, m map[string]float64) error {
	var have []*sample
	for _, s := range batch {
		if len(s.before) == s.n()*t.Model.W.Cfg.Vocab && s.n() > 0 {
			have = append(have, s)
		}
	}
	if len(have) == 0 {
		return nil
	}
	v := t.Model.W.Cfg.Vocab
	temp := t.Cfg.Sampling.Temperature
	pred := make([][]float64, len(have))
	act := make([][]float64, len(have))
	before := make([][][]float64, len(have))
	after := make([][][]float64, len(have))
	mask := make([][]float64, len(have))
	i := 0
	err := t.forward(t.Model, have, temp, func(s *sample, _, _ []float64, logits []float32) {
		n := s.n()
		before[i], after[i] = make([][]float64, n), make([][]float64, n)
		mask[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			b, a := make([]float64, v), make([]float64, v)
			for k := 0; k < v; k++ {
				b[k], a[k] = float64(s.before[j*v+k]), float64(logits[j*v+k])
			}
			before[i][j], after[i][j], mask[i][j] = b, a, 1
		}
		s.before = s.before[:0]
		i++
	})
	if err != nil {
		return err
	}
	_, _, rep := entropy.MeasureMechanism(pred, act, before, after, mask, temp)
	m["entropy/predicted_delta"] = rep.PredMean
	m["entropy/actual_delta"] = rep.ActMean
	m["entropy/delta_corr"] = rep.Corr
	return nil
}

// control updates the controllers once per step.
func (t *Trainer) control(batch []*sample, m map[string]float64) {
	if t.coef != nil {
		meanKey, _ := t.coef.Metric()
		h, ok := m[meanKey]
		if !ok {
			h = m["actor/entropy"]
		}
		t.coef.Update(h, t.Step)
		m["controller/entropy_coef"] = t.coef.Coef()
	}
	if t.hapoT != nil {
		if err := t.hapoT.Observe(rows(batch, func(s *sample) []float64 { return s.oldEnt }), masks(batch)); err == nil {
			st := t.hapoT.State()
			m["controller/hapo_entropy_pivot"] = st.Stats.Median
		}
	}
	if t.aepo != nil {
		t.aepo.Update(m["actor/sampled_nll"])
		m["controller/aepo_temperature"] = t.aepo.Temperature()
	}
}

// evaluate runs the held-out evaluation.
func (t *Trainer) evaluate(m map[string]float64) error {
	e := t.Cfg.Eval
	s := rollout.Sampling{Temperature: e.Temperature, TopP: 1, MaxNewTokens: t.Cfg.Sampling.MaxNewTokens, N: max(1, e.K)}
	res, err := rollout.EvaluateContext(t.ctx, t.eng, t.Tok, t.Task, t.evalSet, t.Cfg.Sampling.MaxNewTokens, e.K, s, t.Cfg.Seed+uint64(t.Step), nil)
	if err != nil {
		return err
	}
	m["val/accuracy"] = res.Accuracy
	m["val/reward"] = res.Reward
	if e.K > 0 {
		for _, pt := range res.Curve { // k = 1, 2, 4, … K; the last is pass@K
			m[fmt.Sprintf("val/pass@%d", pt.K)] = pt.Pass
		}
		m[fmt.Sprintf("val/mean@%d", e.K)] = res.MeanAtK
	}
	return nil
}

// dump returns the first log.samples completions of the step, with their
// per-token log-probs, entropies and advantages.
func (t *Trainer) dump(step int, batch []*sample) []SampleDump {
	n := min(t.Cfg.Log.Samples, len(batch))
	out := make([]SampleDump, n)
	for i, s := range batch[:n] {
		a := 0.0
		if len(s.adv) > 0 {
			a = s.adv[0]
		}
		out[i] = SampleDump{Step: step, Prompt: s.prob.Prompt, Completion: t.Tok.DecodeCompletion(s.seq.Tokens),
			Answer: s.prob.Answer, Reward: s.reward, Advantage: a, Finish: s.seq.Finish.String(), Correct: s.score.Correct,
			Tokens: make([]string, s.n()), Logp: float32s(s.old), Entropy: float32s(s.oldEnt), TokenAdv: float32s(s.adv)}
		for j, id := range s.seq.Tokens {
			out[i].Tokens[j], _ = t.Tok.Token(int(id))
		}
	}
	return out
}

// float32s narrows a per-token row for samples.jsonl.
func float32s(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
