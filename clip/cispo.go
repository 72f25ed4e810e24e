package clip

import (
	"fmt"
	"math"
)

// CISPOConfig configures CISPO (name "cispo").
type CISPOConfig struct {
	ClipRatioLow  float64 `mapstructure:"clip_ratio_low"`  // weight floor 1−ε_l (≥ 1 turns the floor off); default 0.2 (verl actor)
	ClipRatioHigh float64 `mapstructure:"clip_ratio_high"` // weight ceiling 1+ε_h; default 0.2
	LogRatioClamp float64 `mapstructure:"log_ratio_clamp"` // Δ clamped to ±this before exp (verl: 20); 0 disables
}

// DefaultCISPOConfig returns verl's actor clip range 0.2 / 0.2 and its ±20 clamp.
func DefaultCISPOConfig() CISPOConfig {
	return CISPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, LogRatioClamp: 20}
}

// Validate names the offending key.
func (c CISPOConfig) Validate() error {
	if !(c.ClipRatioLow >= 0) || math.IsInf(c.ClipRatioLow, 0) {
		return fmt.Errorf("clip: cispo: clip_ratio_low %v must be finite and >= 0 (>= 1: no floor)", c.ClipRatioLow)
	}
	if !(c.ClipRatioHigh >= 0) || math.IsInf(c.ClipRatioHigh, 0) {
		return fmt.Errorf("clip: cispo: clip_ratio_high %v must be finite and >= 0", c.ClipRatioHigh)
	}
	return validateClamp("cispo", c.LogRatioClamp)
}

// CISPO is clipped-importance-weight REINFORCE, verl's
// compute_policy_loss_cispo (spec §12):
//
//	Δ̃ = clamp(Δ, ±20),  r = exp(Δ̃),  w = sg(clip(r, 1−ε_l, 1+ε_h))
//	ℓ = −w·A·logp,  L = Agg(ℓ, m),  γ = −w·A on every token
//
// The weight is clipped whatever the sign of A and is detached, so no token
// loses its gradient. The loss value contains logp itself: only the gradient
// is comparable with ratio losses. Metrics: pg_clipfrac = mean_m[r ≠ w],
// ppo_kl = mean_m[−Δ̃], pg_clipfrac_lower = 0.
//
// MiniMax (2025) arXiv 2506.13585; volcengine/verl core_algos.py @ b178a3c.
type CISPO struct {
	cfg CISPOConfig
	agg Agg
	w   []float64
}

var _ Loss = (*CISPO)(nil)

// NewCISPO validates cfg and agg.
func NewCISPO(cfg CISPOConfig, agg Agg) (*CISPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &CISPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that CISPO reads only the required fields.
func (p *CISPO) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (p *CISPO) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, p.agg, p.w)
	if err != nil {
		return Result{}, err
	}
	p.w = w
	tr := in.Trace
	if tr != nil {
		tr.ISWeight = zeroedLike(tr.ISWeight, in.Logp)
	}
	lo, hi := 1-p.cfg.ClipRatioLow, 1+p.cfg.ClipRatioHigh
	var n, clipped int
	var negKL float64
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d, _ := clampLogRatio(in.Logp[b][t]-in.OldLogp[b][t], p.cfg.LogRatioClamp)
		r := math.Exp(d)
		iw := math.Max(lo, math.Min(hi, r))
		a := in.Adv[b][t]
		reg := RegionUnclipped
		switch {
		case a == 0:
			reg = RegionZeroAdv
		case r > hi:
			reg = RegionClipHigh
		case r < lo:
			reg = RegionClipLow
		}
		if iw != r {
			clipped++
		}
		n++
		negKL -= d
		if tr != nil {
			tr.ISWeight[b][t] = iw
		}
		return -iw * a * in.Logp[b][t], -iw * a, r, reg
	})
	return Result{Loss: loss, Grad: dst, Metrics: ratioMetrics(loss, n, clipped, 0, negKL)}, nil
}
