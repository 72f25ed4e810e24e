package clip

import (
	"fmt"
	"math"
)

// EntropyAdvConfig configures entropy-shaped advantages (name "entropy_adv"):
// the shaping, then PPO (the embedded keys) on the shaped advantages.
type EntropyAdvConfig struct {
	Alpha     float64 `mapstructure:"alpha"` // α > 0: weight of the entropy term; default 0.4 (the paper's GRPO setting; 0.1 for PPO)
	Kappa     float64 `mapstructure:"kappa"` // κ ≥ 1: the term is capped at |A|/κ; default 2
	PPOConfig `mapstructure:",squash"`
}

// DefaultEntropyAdvConfig returns the paper's GRPO setting: α = 0.4, κ = 2,
// clip 0.2 / 0.28, and verl's vanilla dual clip c = 3 with the ±20 clamp.
func DefaultEntropyAdvConfig() EntropyAdvConfig {
	return EntropyAdvConfig{Alpha: 0.4, Kappa: 2,
		PPOConfig: PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: 3, LogRatioClamp: 20}}
}

// Validate names the offending key.
func (c EntropyAdvConfig) Validate() error {
	if !(c.Alpha > 0) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("clip: entropy_adv: alpha %v must be positive and finite", c.Alpha)
	}
	if !(c.Kappa >= 1) || math.IsInf(c.Kappa, 0) {
		return fmt.Errorf("clip: entropy_adv: kappa %v must be finite and >= 1 (the paper uses 2; below 1 the shaping can flip A's sign)", c.Kappa)
	}
	return c.PPOConfig.Validate()
}

// EntropyAdv shapes each token's advantage with the current policy's
// entropy (detached) and runs PPO on the result (spec §14):
//
//	ψ_t = min(α·H_t, |A_t|/κ),  A′_t = A_t + ψ_t,  then PPO (§5) on A′
//
// For κ ≥ 1, A′ keeps the sign of A and A = 0 stays 0. A′ is computed out of
// place every call, so a second PPO epoch does not compound it. H is
// Input.Entropy, from the training forward pass. Metrics: PPO's, plus
// entropy_term_mean = mean_m[ψ] and capped_frac = mean_m[α·H > |A|/κ] (the golden names).
//
// Cheng et al. (2025), "Reasoning with Exploration: An Entropy
// Perspective", arXiv 2506.14758, Eq. 5–6.
type EntropyAdv struct {
	cfg    EntropyAdvConfig
	ppo    *PPO
	shaped [][]float64
}

var _ Loss = (*EntropyAdv)(nil)

// NewEntropyAdv validates cfg and agg.
func NewEntropyAdv(cfg EntropyAdvConfig, agg Agg) (*EntropyAdv, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ppo, err := NewPPO(cfg.PPOConfig, agg)
	if err != nil {
		return nil, err
	}
	return &EntropyAdv{cfg: cfg, ppo: ppo}, nil
}

// Needs reports that the shaping reads Input.Entropy.
func (p *EntropyAdv) Needs() Needs { return Needs{Entropy: true} }

// Compute implements Loss.
func (p *EntropyAdv) Compute(dst [][]float64, in Input) (Result, error) {
	if err := checkInput(in, p.Needs()); err != nil {
		return Result{}, err
	}
	p.shaped = growLike(p.shaped, in.Logp)
	tr := in.Trace
	if tr != nil {
		tr.EntropyTerm = growLike(tr.EntropyTerm, in.Logp)
		tr.AdvUsed = growLike(tr.AdvUsed, in.Logp)
		tr.Capped = growLike(tr.Capped, in.Logp)
	}
	var n, capped int
	var psiSum float64
	for b, adv := range in.Adv {
		mask, h, dst := in.Mask[b], in.Entropy[b], p.shaped[b]
		for t, a := range adv {
			psi, cap := 0.0, false
			if mask[t] != 0 {
				bound := math.Abs(a) / p.cfg.Kappa
				psi = math.Min(p.cfg.Alpha*h[t], bound)
				cap = p.cfg.Alpha*h[t] > bound
				n++
				psiSum += psi
				if cap {
					capped++
				}
				dst[t] = a + psi
			} else {
				dst[t] = 0
			}
			if tr != nil {
				tr.EntropyTerm[b][t], tr.AdvUsed[b][t], tr.Capped[b][t] = psi, dst[t], cap
			}
		}
	}
	shaped := in
	shaped.Adv = p.shaped
	res, err := p.ppo.Compute(dst, shaped)
	if err != nil {
		return res, err
	}
	den := maskedMeanDen(n)
	res.Metrics["entropy_term_mean"] = psiSum / den
	res.Metrics["capped_frac"] = float64(capped) / den
	return res, nil
}
