package method

import (
	"github.com/entrolab/entrolab/clip"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/pg"
)

// newKL builds the KL regularisation to the frozen base: an actor loss term
// (kl.mode loss) or a penalty in the reward (kl.mode reward).
func newKL(c Config, r *Recipe) (Part, error) {
	switch c.KL.Mode {
	case "loss":
		l, err := clip.NewKLLoss(c.KL.KLConfig)
		if err != nil {
			return nil, err
		}
		r.RefLogp = true
		return &klLoss{part: part{"kl_loss", AtLoss}, loss: l}, nil
	case "reward":
		est, err := clip.NewKL(c.KL.Kind)
		if err != nil {
			return nil, err
		}
		r.RefLogp = true
		return &klReward{part: part{"kl_reward", AtShapeReward}, est: est, coef: c.KL.Coef}, nil
	}
	return nil, nil
}

// klLoss is verl's actor KL loss, β·Agg(kl(logp − refLogp)).
type klLoss struct {
	part
	loss *clip.KLLoss
}

func (k *klLoss) LogpTerm(in pg.Input) (pg.Result, error) {
	return k.loss.Compute(nil, pg.Input{Logp: in.Logp, RefLogp: in.RefLogp, Mask: in.Mask})
}

// klReward puts the KL to the frozen base into the reward per token, as
// verl's use_kl_in_reward does (advantage.Input documents it): each token
// gets the reward −β·kl(logp_old − logp_ref) in Sample.TokenReward; the
// outcome estimators see the row sum added to the outcome reward, the
// token-reward ones (REINFORCE++) see it on every token.
type klReward struct {
	part
	est  clip.KLEstimator
	coef float64
}

func (k *klReward) ShapeRewards(batch []*Sample, m map[string]float64) error {
	old := Rows(batch, func(s *Sample) []float64 { return s.Old })
	ref := Rows(batch, func(s *Sample) []float64 { return s.Ref })
	mask := Masks(batch)
	kl := k.est.Values(nil, nil, old, ref, mask)
	pen := k.est.RewardPenalty(nil, old, ref, mask, k.coef)
	var klSum float64
	var toks int
	for i, s := range batch {
		if s.TokenReward == nil {
			s.TokenReward = make([]float64, s.N())
		}
		for t, p := range pen[i] {
			s.TokenReward[t] -= p
			klSum += kl[i][t]
		}
		toks += s.N()
	}
	if toks > 0 {
		m[metric.RewardKL] = klSum / float64(toks)
		m[metric.RewardKLCoef] = k.coef
	}
	return nil
}
