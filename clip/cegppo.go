package clip

import (
	"fmt"
	"math"
)

// CEGPPOConfig configures CE-GPPO (name "cegppo").
type CEGPPOConfig struct {
	ClipRatioLow  float64 `mapstructure:"clip_ratio_low"`  // ε_l; default 0.2
	ClipRatioHigh float64 `mapstructure:"clip_ratio_high"` // ε_h; default 0.2 (CEG "general" script: 0.28)
	Beta1         float64 `mapstructure:"beta1"`           // β₁, gradient scale on A<0, r<1−ε_l; default 0.75
	Beta2         float64 `mapstructure:"beta2"`           // β₂, gradient scale on A>0, r>1+ε_h; default 1
	ClipRatioC    float64 `mapstructure:"clip_ratio_c"`    // dual-clip c (> 1); 0 disables (upstream always on); default 10
}

// DefaultCEGPPOConfig returns the CE-GPPO 7B script setting, whose β₁ = 0.75
// is also the README's code default: ε_l = ε_h = 0.2, β₁ = 0.75, β₂ = 1,
// c = 10 (every CEG script). The CEG yaml/function default is β₁ = 0.25,
// c = 3; the 1.5B script uses β₁ = 0.5.
func DefaultCEGPPOConfig() CEGPPOConfig {
	return CEGPPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, Beta1: 0.75, Beta2: 1, ClipRatioC: 10}
}

// Validate names the offending key.
func (c CEGPPOConfig) Validate() error {
	if err := validateEps("cegppo", c.ClipRatioLow, c.ClipRatioHigh); err != nil {
		return err
	}
	if !(c.Beta1 >= 0) || math.IsInf(c.Beta1, 0) {
		return fmt.Errorf("clip: cegppo: beta1 %v must be finite and >= 0", c.Beta1)
	}
	if !(c.Beta2 >= 0) || math.IsInf(c.Beta2, 0) {
		return fmt.Errorf("clip: cegppo: beta2 %v must be finite and >= 0", c.Beta2)
	}
	return validateDual("cegppo", c.ClipRatioC)
}

// CEGPPO is the gradient-preserving clipped surrogate (general β form).
// In the clipped regions the token keeps a bounded gradient instead of none:
//
//	ℓ₁ = −β₁·(1−ε_l)·(r/sg(r))·A   if A<0 and r < 1−ε_l   (clip_low)
//	ℓ₁ = −β₂·(1+ε_h)·(r/sg(r))·A   if A>0 and r > 1+ε_h   (clip_high)
//	ℓ₁ = −r·A                       otherwise
//	ℓ  = min(ℓ₁, −A·c) for A<0 when the dual clip is on, else ℓ₁
//	L  = Agg(ℓ, m)
//
// r/sg(r) is 1 in value with derivative 1 w.r.t. logp, so γ = ℓ₁ in the
// clipped regions (|γ| = β·bound·|A|), −A·r when unclipped, 0 when
// dual-clipped or A = 0. No log-ratio clamp. With β₁ = β₂ = 1 this is GPPO
// (Klear-Reasoner); with β₁ = β₂ = 0 the gradient is PPO's but the value is
// not. The forward value is not comparable with PPO's loss curves.
//
// Metrics: pg_loss; pg_clipfrac = mean_m[clip_low ∨ clip_high]; ppo_kl =
// mean_m(−Δ); pg_clipfrac_lower = mean_m[dual-clipped].
//
// Su et al. (2025), "CE-GPPO", arXiv 2509.20712; GPPO in Klear-Reasoner,
// arXiv 2508.07629. Code: Kwai-Klear/CE-GPPO
// verl/trainer/ppo/core_algos.py compute_gppo_loss_general_beta @ 10558fe.
type CEGPPO struct {
	cfg CEGPPOConfig
	agg Agg
	w   []float64
}

var _ Loss = (*CEGPPO)(nil)

// NewCEGPPO validates cfg and agg.
func NewCEGPPO(cfg CEGPPOConfig, agg Agg) (*CEGPPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &CEGPPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that CE-GPPO reads only the required fields.
func (c *CEGPPO) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (c *CEGPPO) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, c.agg, c.w)
	if err != nil {
		return Result{}, err
	}
	c.w = w
	lo, hi, cc := 1-c.cfg.ClipRatioLow, 1+c.cfg.ClipRatioHigh, c.cfg.ClipRatioC
	b1lo, b2hi := c.cfg.Beta1*lo, c.cfg.Beta2*hi
	var st tokenStats
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d := in.Logp[b][t] - in.OldLogp[b][t]
		r := math.Exp(d)
		l, gm, reg := cegToken(in.Adv[b][t], r, lo, hi, cc, b1lo, b2hi)
		st.add(reg, d)
		return l, gm, r, reg
	})
	return Result{Loss: loss, Grad: dst, Metrics: st.metrics(loss)}, nil
}

// cegToken is one CE-GPPO token: b1lo = β₁(1−ε_l), b2hi = β₂(1+ε_h).
// The dual clip is upstream's min(ℓ₁, −A·c) for A<0, applied to ℓ₁ of any
// region.
func cegToken(a, r, lo, hi, c, b1lo, b2hi float64) (l, g float64, reg Region) {
	switch {
	case a > 0:
		if r > hi {
			l = -b2hi * a
			return l, l, RegionClipHigh
		}
		l = -a * r
		return l, l, RegionUnclipped
	case a < 0:
		l, reg = -a*r, RegionUnclipped
		if r < lo {
			l, reg = -b1lo*a, RegionClipLow
		}
		if c > 0 && l > -a*c {
			return -a * c, 0, RegionDualClip
		}
		return l, l, reg
	default:
		return 0, 0, RegionZeroAdv
	}
}
