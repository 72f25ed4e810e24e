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

// klReward subtracts β times the sequence's summed per-token KL estimate
// from its reward.
type klReward struct {
	part
	est  clip.KLEstimator
	coef float64
}

func (k *klReward) ShapeRewards(batch []*Sample, m map[string]float64) error {
	var klSum float64
	var toks int
	for _, s := range batch {
		var kl float64
		for i := range s.Old {
			v, _ := k.est.Eval(s.Old[i] - s.Ref[i])
			kl += v
		}
		s.Reward -= k.coef * kl
		klSum += kl
		toks += s.N()
	}
	if toks > 0 {
		m[metric.RewardKL] = klSum / float64(toks)
		m[metric.RewardKLCoef] = k.coef
	}
	return nil
}
