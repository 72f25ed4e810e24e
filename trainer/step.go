package trainer

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/method"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/pg"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
)

// score records the verifier scores and lets the ShapeReward-phase parts
// turn them into the rewards the estimator sees.
func (t *Trainer) score(batch []*sample, m map[string]float64) error {
	scores := make([]float64, len(batch))
	correct := 0.0
	for i, s := range batch {
		scores[i] = s.Score.Reward
		if s.Score.Correct {
			correct++
		}
	}
	stats(m, metric.Score, scores)
	m[metric.Accuracy] = correct / float64(len(batch))
	verdicts := make([]reward.Score, len(batch))
	for i, s := range batch {
		verdicts[i] = s.Score
	}
	for k, v := range reward.MetricMeans(verdicts) { // a reward command's extra fields
		m[k] = v
	}
	for _, p := range t.recipe.Parts {
		if rs, ok := p.(method.RewardShaper); ok {
			if err := rs.ShapeRewards(batch, m); err != nil {
				return fmt.Errorf("%s: %w", p.Name(), err)
			}
		}
	}
	rs := make([]float64, len(batch))
	for i, s := range batch {
		rs[i] = s.EstimatorReward()
	}
	stats(m, metric.Rewards, rs)
	return nil
}

func rows(batch []*sample, f func(*sample) []float64) [][]float64 { return method.Rows(batch, f) }

func masks(batch []*sample) [][]float64 { return method.Masks(batch) }

// estimate computes per-token advantages and lets the Advantage-phase
// parts change them.
func (t *Trainer) estimate(batch []*sample, m map[string]float64) error {
	in := advantage.Input{Rewards: make([]float64, len(batch)), Group: make([]int, len(batch)), Mask: masks(batch)}
	for i, s := range batch {
		in.Rewards[i], in.Group[i] = s.EstimatorReward(), s.Group
	}
	needs := t.est.Needs()
	if needs.RefRewards {
		// the frozen base policy answers the same prompts; response b is
		// paired with the base's completion at the same place in its group
		var probs []reward.Problem
		first := map[int]int{} // group -> index of its prompt in probs
		for _, s := range batch {
			if _, ok := first[s.Group]; !ok && !s.Outside {
				first[s.Group] = len(probs)
				probs = append(probs, s.Prob)
			}
		}
		smp, _ := t.sampling(t.Cfg.Sampling.N)
		ref, err := t.generate(t.refEng, probs, smp)
		if err != nil {
			return err
		}
		in.RefRewards = make([]float64, len(batch))
		seen := map[int]int{}
		for i, s := range batch {
			in.RefRewards[i] = ref[first[s.Group]*t.Cfg.Sampling.N+seen[s.Group]].Reward
			seen[s.Group]++
		}
		m[metric.RefScoreMean] = mean(in.RefRewards)
	}
	if needs.TokenRewards {
		// the outcome reward on the last valid token, the per-token rewards on theirs
		outcome := make([]float64, len(batch))
		for i, s := range batch {
			outcome[i] = s.Reward
		}
		in.TokenRewards = advantage.Alloc(in.Mask)
		if err := advantage.OutcomeTokenRewards(in.TokenRewards, outcome, in.Mask); err != nil {
			return err
		}
		for i, s := range batch {
			for t, x := range s.TokenReward {
				in.TokenRewards[i][t] += x
			}
		}
	}
	dst := advantage.Alloc(in.Mask)
	if err := t.est.Estimate(dst, in); err != nil {
		return err
	}
	for i, s := range batch {
		s.Adv = dst[i]
	}
	for _, p := range t.recipe.Parts {
		if as, ok := p.(method.AdvantageShaper); ok {
			as.ShapeAdvantages(batch)
		}
	}
	var all []float64
	zeroStd, groups := 0, 0
	byGroup := map[int][]float64{}
	for _, s := range batch {
		all = append(all, s.Adv...)
		if !s.Outside {
			byGroup[s.Group] = append(byGroup[s.Group], s.Score.Reward)
		}
	}
	for _, rs := range byGroup {
		groups++
		if variance(rs) == 0 {
			zeroStd++
		}
	}
	stats(m, metric.Advantages, all)
	if groups > 0 {
		m[metric.FracZeroStd] = float64(zeroStd) / float64(groups)
	}
	return nil
}

// selectTokens lets the SelectTokens-phase parts narrow the loss mask.
func (t *Trainer) selectTokens(batch []*sample, m map[string]float64) {
	for _, p := range t.recipe.Parts {
		if ts, ok := p.(method.TokenSelector); ok {
			ts.SelectTokens(batch, m)
		}
	}
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
			acc.add(metric.GradNorm, st.GradNorm)
			m[metric.LR] = st.LR
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
		old, adv, mask, oldEnt, ref := rows(part, func(s *sample) []float64 { return s.Old }), rows(part, func(s *sample) []float64 { return s.Adv }), masks(part), rows(part, func(s *sample) []float64 { return s.OldEnt }), rows(part, func(s *sample) []float64 { return s.Ref })
		var entSum, nllSum, tokN, mis float64
		for b, s := range part {
			o := b*T + from[b] - 1
			logp[b] = in.Logp[o : o+s.N()]
			ent[b] = in.Entropy[o : o+s.N()]
			for j := range logp[b] {
				entSum += ent[b][j]
				nllSum -= logp[b][j]
				tokN++
				if onPolicy {
					// the old log-probs in use (the sampler's unless they were
					// recomputed) against this on-policy forward pass
					mis = math.Max(mis, math.Abs(logp[b][j]-s.Old[j]))
				}
			}
			if onPolicy && t.Cfg.Log.Diagnostics {
				s.Before = append(s.Before[:0], in.Logits[o*V:(o+s.N())*V]...)
			}
		}
		scale := 1 / nMicro
		pin := pg.Input{Logp: logp, OldLogp: old, Adv: adv, Mask: mask, Entropy: ent, OldEntropy: oldEnt, RefLogp: ref, Rand: t.clipRng}
		res, err := t.recipe.Loss.Compute(make([][]float64, B), pin)
		if err != nil {
			return 0, nil, err
		}
		total := res.Loss
		for k, v := range res.Metrics {
			acc.add("actor/"+k, v)
		}
		t.addLogpGrad(g, part, T, from, res.Grad, scale)
		var logits [][][]float64
		var actions [][]int
		for _, p := range t.recipe.Parts {
			switch term := p.(type) {
			case method.LogpTerm:
				res, err := term.LogpTerm(pin)
				if err != nil {
					return 0, nil, fmt.Errorf("%s: %w", p.Name(), err)
				}
				total += res.Loss
				for k, v := range res.Metrics {
					acc.add("actor/"+k, v)
				}
				t.addLogpGrad(g, part, T, from, res.Grad, scale)
			case method.LogitTerm:
				if logits == nil {
					logits, actions = logitRows(part, in.Logits, T, V, from)
				}
				res, err := term.LogitTerm(entropy.Input{Logits: logits, Mask: mask, Temperature: t.Cfg.Sampling.Temperature, Actions: actions})
				if err != nil {
					return 0, nil, fmt.Errorf("%s: %w", p.Name(), err)
				}
				total += res.Loss
				for k, v := range res.Metrics {
					acc.add(k, v)
				}
				for b, s := range part {
					o := b*T + from[b] - 1
					for j := 0; j < s.N(); j++ {
						dst := g.Logits[(o+j)*V : (o+j+1)*V]
						for v, x := range res.Grad[b][j] {
							dst[v] += float32(x * scale)
						}
					}
				}
			}
		}
		if tokN > 0 {
			acc.add(metric.Entropy, entSum/tokN)
			acc.add(metric.SampledNLL, nllSum/tokN)
		}
		if onPolicy {
			acc.peak(metric.LogpMismatch, mis)
		}
		acc.add(metric.PGLossTotal, total)
		return total * scale, nil, nil
	}
}

// addLogpGrad adds scale·grad [B][n] into the head's log-prob gradient.
func (t *Trainer) addLogpGrad(g *policy.HeadGrad, part []*sample, T int, from []int, grad [][]float64, scale float64) {
	for b, s := range part {
		o := b*T + from[b] - 1
		for j := 0; j < s.N(); j++ {
			g.Logp[o+j] += grad[b][j] * scale
		}
	}
}

// logitRows copies the micro-batch's completion logits [B][n][V] to float64
// and gathers the sampled tokens [B][n].
func logitRows(part []*sample, flat []float32, T, V int, from []int) ([][][]float64, [][]int) {
	logits := make([][][]float64, len(part))
	actions := make([][]int, len(part))
	for b, s := range part {
		o := b*T + from[b] - 1
		logits[b] = make([][]float64, s.N())
		actions[b] = make([]int, s.N())
		for j := range logits[b] {
			row := make([]float64, V)
			for v, x := range flat[(o+j)*V : (o+j+1)*V] {
				row[v] = float64(x)
			}
			logits[b][j] = row
			actions[b][j] = int(s.Seq.Tokens[j])
		}
	}
	return logits, actions
}

// diagnose compares the first-order predicted entropy change from the
// measured logit change with the measured change, on the step's tokens
// whose pre-update logits were captured (all of them with one mini-batch).
func (t *Trainer) diagnose(batch []*sample, m map[string]float64) error {
	var have []*sample
	for _, s := range batch {
		if len(s.Before) == s.N()*t.Model.W.Cfg.Vocab && s.N() > 0 {
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
		n := s.N()
		before[i], after[i] = make([][]float64, n), make([][]float64, n)
		mask[i] = make([]float64, n)
		for j := 0; j < n; j++ {
			b, a := make([]float64, v), make([]float64, v)
			for k := 0; k < v; k++ {
				b[k], a[k] = float64(s.Before[j*v+k]), float64(logits[j*v+k])
			}
			before[i][j], after[i][j], mask[i][j] = b, a, 1
		}
		s.Before = s.Before[:0]
		i++
	})
	if err != nil {
		return err
	}
	_, _, rep := entropy.MeasureMechanism(pred, act, before, after, mask, temp)
	for k, v := range rep.Metrics() {
		m[k] = v
	}
	return nil
}

// control runs the Control-phase parts once per step.
func (t *Trainer) control(batch []*sample, m map[string]float64) {
	for _, p := range t.recipe.Parts {
		if c, ok := p.(method.Controller); ok {
			c.Control(t.Step, batch, m)
		}
	}
}

// evaluate runs the base's held-out evaluation (step 0), with eval.final_k
// samples per problem.
func (t *Trainer) evaluate(m map[string]float64) error {
	return t.evaluateK(m, t.Cfg.Eval.FinalK)
}

// evalSamples is the samples per problem of step's evaluation: eval.final_k
// at the last step, eval.k before.
func (t *Trainer) evalSamples(step int) int {
	if step == t.Cfg.Train.Steps {
		return t.Cfg.Eval.FinalK
	}
	return t.Cfg.Eval.K
}

// evaluateK runs the held-out evaluation with k samples per problem. It
// draws on its own random stream (seed + step), never on the training ones,
// so k changes the val/* numbers only, not the steps.
func (t *Trainer) evaluateK(m map[string]float64, k int) error {
	e := t.Cfg.Eval
	s := rollout.Sampling{Temperature: e.Temperature, TopP: 1, MaxNewTokens: t.Cfg.Sampling.MaxNewTokens, N: max(1, k)}
	eng := t.eng
	if k > e.K {
		// the base's and the last evaluation sample more than any other
		// generation of the run: an engine of their own, whose buffers
		// (hundreds of MB at k = 64) are not kept for the rest of the run.
		// The samples depend only on the seed, not on the engine.
		eng = rollout.New(t.eng.W, t.eng.EOS)
		eng.Workers, eng.Stop = t.eng.Workers, t.eng.Stop
	}
	res, err := rollout.EvaluateContext(t.ctx, eng, t.Tok, t.Task, t.evalSet, t.Cfg.Sampling.MaxNewTokens, k, s, t.Cfg.Seed+uint64(t.Step), nil)
	if err != nil {
		return err
	}
	m[metric.ValAccuracy] = res.Accuracy
	m[metric.ValReward] = res.Reward
	if k > 0 {
		for _, pt := range res.Curve { // k = 1, 2, 4, … K; the last is pass@K
			m[fmt.Sprintf("%s%d", metric.ValPassAt, pt.K)] = pt.Pass
		}
		m[fmt.Sprintf("%s%d", metric.ValMeanAt, k)] = res.MeanAtK
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
		if len(s.Adv) > 0 {
			a = s.Adv[0]
		}
		out[i] = SampleDump{Step: step, Prompt: s.Prob.Prompt, Completion: t.Tok.DecodeCompletion(s.Seq.Tokens),
			Answer: s.Prob.Answer, Reward: s.EstimatorReward(), Advantage: a, Finish: s.Seq.Finish.String(), Correct: s.Score.Correct,
			Tokens: make([]string, s.N()), Logp: float32s(s.Old), Entropy: float32s(s.OldEnt), TokenAdv: float32s(s.Adv)}
		for j, id := range s.Seq.Tokens {
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
