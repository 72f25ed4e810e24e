package advantage

import (
	"fmt"
	"math"
)

// AAPOConfig configures aapo.
type AAPOConfig struct {
	Eps          float64 `mapstructure:"eps"`           // guards the std division; default 1e-4 (TRL)
	ScaleRewards bool    `mapstructure:"scale_rewards"` // false: mean-only group advantage; default true
	DeltaLow     float64 `mapstructure:"delta_low"`     // lower clip of the margin; default -0.2
	DeltaHigh    float64 `mapstructure:"delta_high"`    // upper clip of the margin; default 0.28
}

// DefaultAAPOConfig returns the AAPO trainers' settings: eps 1e-4, scaled,
// margin clipped to [-0.2, 0.28] (hard-coded upstream).
func DefaultAAPOConfig() AAPOConfig {
	return AAPOConfig{Eps: 1e-4, ScaleRewards: true, DeltaLow: -0.2, DeltaHigh: 0.28}
}

// Validate checks eps and that the margin bounds are finite and ordered.
func (c AAPOConfig) Validate() error {
	if err := checkPositive("aapo.eps", c.Eps); err != nil {
		return err
	}
	if !isFinite(c.DeltaLow) || c.DeltaLow > 0 {
		return fmt.Errorf("advantage: aapo.delta_low = %v, want a finite value <= 0", c.DeltaLow)
	}
	if !isFinite(c.DeltaHigh) || c.DeltaHigh < 0 {
		return fmt.Errorf("advantage: aapo.delta_high = %v, want a finite value >= 0", c.DeltaHigh)
	}
	return nil
}

// AAPO adds to the GRPO advantage a clipped margin of each response's
// reward over the reward of a completion sampled for the same prompt from
// the frozen reference policy (Input.RefRewards, paired by position). The
// "momentum" is this margin, not a moving average across steps.
//
//	Â_b = (R_b − μ_k)/(σ_k + eps)    (σ unbiased; R_b − μ_k without ScaleRewards)
//	M_b = clip(R_b − R̃_b, DeltaLow, DeltaHigh)
//	a_b = Â_b + M_b,   A[b][t] = a_b · m[b][t]
//
// So a zero-variance group still learns whenever the policy beats (+0.28)
// or loses to (−0.2) its reference sample. Â follows [GRPO] (TRL's form,
// eps 1e-4); for a group of one, where TRL gives NaN, it uses verl's μ = 0,
// σ = 1. The AAPO loss (−A·logp, token-mean, no ratio or clip) belongs to
// the clip family.
//
// Xiong et al. (2025), AAPO, arXiv 2505.14264; AAPOTrainer in
// JianxXiong/AAPO @ b8aac37 (open-rs and open-r1).
type AAPO struct {
	cfg    AAPOConfig
	s      groupStats
	seq    []float64 // [B] a_b, for Estimate
	margin []float64 // [B] M_b, for Sequence
}

var (
	_ Estimator = (*AAPO)(nil)
	_ Sequencer = (*AAPO)(nil)
)

// NewAAPO returns an AAPO estimator; it errors on an invalid config.
func NewAAPO(cfg AAPOConfig) (*AAPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AAPO{cfg: cfg}, nil
}

func newAAPO(cfg Config) (Estimator, error) { return NewAAPO(cfg.AAPO) }

// Needs reports the group ids and the reference completions' rewards.
func (a *AAPO) Needs() Needs { return Needs{Group: true, RefRewards: true} }

// Split writes the two parts of a_b: the group advantage Â into group and
// the clipped margin M into margin, each [B].
func (a *AAPO) Split(group, margin []float64, in Input) error {
	if err := checkInput("aapo", in, true, a.Needs()); err != nil {
		return err
	}
	if B := len(in.Mask); len(group) < B || len(margin) < B {
		return fmt.Errorf("advantage: aapo: dst has %d and %d values, want %d", len(group), len(margin), B)
	}
	grpoSeq(group, in.Rewards, in.Group, &a.s, a.cfg.Eps, a.cfg.ScaleRewards)
	for b, r := range in.Rewards {
		margin[b] = math.Min(math.Max(r-in.RefRewards[b], a.cfg.DeltaLow), a.cfg.DeltaHigh)
	}
	return nil
}

// Sequence writes a_b = Â_b + M_b into dst[:B].
func (a *AAPO) Sequence(dst []float64, in Input) error {
	a.margin = grow(a.margin, len(in.Mask))
	if err := a.Split(dst, a.margin, in); err != nil {
		return err
	}
	for b, m := range a.margin {
		dst[b] += m
	}
	return nil
}

// Estimate writes A[b][t] = a_b·m[b][t] into dst.
func (a *AAPO) Estimate(dst [][]float64, in Input) error {
	if err := fitDst("aapo", dst, in.Mask); err != nil {
		return err
	}
	a.seq = grow(a.seq, len(in.Mask))
	if err := a.Sequence(a.seq, in); err != nil {
		return err
	}
	broadcast(dst, a.seq, in.Mask)
	return nil
}
