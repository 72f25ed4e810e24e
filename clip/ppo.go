package clip

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/pg"
)

// PPOConfig configures PPO (name "ppo") and PPO with DAPO's clip-higher
// defaults (name "ppo_clip_higher").
type PPOConfig struct {
	ClipRatioLow  float64 `mapstructure:"clip_ratio_low"`  // ε_l; ratio floor 1−ε_l; default 0.2
	ClipRatioHigh float64 `mapstructure:"clip_ratio_high"` // ε_h; ratio ceiling 1+ε_h; default 0.2 (DAPO 0.28)
	ClipRatioC    float64 `mapstructure:"clip_ratio_c"`    // dual-clip c (> 1), A<0 only; 0 disables; default 3 (DAPO 10)
	LogRatioClamp float64 `mapstructure:"log_ratio_clamp"` // Δ clamped to ±this before exp (verl: 20); 0 disables
}

// DefaultPPOConfig returns verl's actor defaults: ε_l = ε_h = 0.2, c = 3,
// Δ clamped to ±20.
func DefaultPPOConfig() PPOConfig {
	return PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipRatioC: 3, LogRatioClamp: 20}
}

// DefaultClipHigherConfig returns DAPO's clip-higher setting
// (arXiv 2503.14476; verl DAPO recipes): ε_l = 0.2, ε_h = 0.28, c = 10.
func DefaultClipHigherConfig() PPOConfig {
	return PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: 10, LogRatioClamp: 20}
}

// Validate names the offending key.
func (c PPOConfig) Validate() error {
	if err := validateEps("ppo", c.ClipRatioLow, c.ClipRatioHigh); err != nil {
		return err
	}
	if err := validateDual("ppo", c.ClipRatioC); err != nil {
		return err
	}
	return validateClamp("ppo", c.LogRatioClamp)
}

// validateClamp checks a log-ratio clamp: finite and >= 0 (0 disables).
func validateClamp(name string, c float64) error {
	if !(c >= 0) || math.IsInf(c, 0) {
		return fmt.Errorf("clip: %s: log_ratio_clamp %v must be finite and >= 0 (0 disables)", name, c)
	}
	return nil
}

func validateEps(name string, low, high float64) error {
	if !(low >= 0 && low <= 1) {
		return fmt.Errorf("clip: %s: clip_ratio_low %v must be in [0, 1]", name, low)
	}
	if !(high >= 0) || math.IsInf(high, 0) {
		return fmt.Errorf("clip: %s: clip_ratio_high %v must be finite and >= 0", name, high)
	}
	return nil
}

func validateDual(name string, c float64) error {
	if c != 0 && !(c > 1) || math.IsInf(c, 0) {
		return fmt.Errorf("clip: %s: clip_ratio_c %v must exceed 1 (0 disables the dual clip)", name, c)
	}
	return nil
}

// PPO is the clipped surrogate with optional dual clip and asymmetric
// (clip-higher) bounds, verl's compute_policy_loss_vanilla.
//
//	Δ = clamp(logp − oldLogp, ±log_ratio_clamp),  r = exp(Δ)
//	ℓ₁ = max(−A·r, −A·clip(r, 1−ε_l, 1+ε_h))
//	ℓ  = min(ℓ₁, −A·c) if A<0 and the dual clip is on, else ℓ₁
//	L  = Agg(ℓ, m)
//
// γ = ∂ℓ/∂logp is −A·r where the token is unclipped (region 1) and 0 where
// it is clipped (regions 2–4) or A = 0 (5); a Δ outside the clamp also has
// γ = 0. The min/max is pessimistic: A>0 with r < 1−ε_l, and A<0 with
// 1+ε_h < r ≤ c, keep their gradient.
//
// Metrics: pg_loss; pg_clipfrac = mean_m[(A>0 ∧ r>1+ε_h) ∨ (A<0 ∧ r<1−ε_l)];
// pg_clipfrac_lower = mean_m[A<0 ∧ r>c] (0 when the dual clip is off);
// ppo_kl = mean_m[−Δ] with the clamped Δ. mean_m is verl's masked_mean,
// Σx·m/(Σm + 1e-8).
//
// Schulman et al. (2017) arXiv 1707.06347; dual clip Ye et al. (2019)
// arXiv 1912.09729; clip-higher DAPO arXiv 2503.14476. Code:
// volcengine/verl verl/trainer/ppo/core_algos.py @ b178a3c.
type PPO struct {
	cfg PPOConfig
	agg Agg
	w   []float64 // row weights scratch
}

var _ Loss = (*PPO)(nil)

// NewPPO validates cfg and agg.
func NewPPO(cfg PPOConfig, agg Agg) (*PPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &PPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that PPO reads only the required fields.
func (p *PPO) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (p *PPO) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, p.agg, p.w)
	if err != nil {
		return Result{}, err
	}
	p.w = w
	lo, hi, c, clamp := 1-p.cfg.ClipRatioLow, 1+p.cfg.ClipRatioHigh, p.cfg.ClipRatioC, p.cfg.LogRatioClamp
	var st tokenStats
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d, dr := clampLogRatio(in.Logp[b][t]-in.OldLogp[b][t], clamp)
		r := math.Exp(d)
		l, gm, reg := ppoToken(in.Adv[b][t], r, lo, hi, c)
		st.add(reg, d)
		return l, gm * dr, r, reg
	})
	return Result{Loss: loss, Grad: dst, Metrics: st.metrics(loss)}, nil
}

// ppoToken is pg.PPOToken, the per-token surrogate shared by every
// PPO-shaped loss.
func ppoToken(a, r, lo, hi, c float64) (l, g float64, reg Region) {
	return pg.PPOToken(a, r, lo, hi, c)
}

// tokenStats accumulates the standard metrics (spec §2.3) over valid tokens.
type tokenStats struct {
	n       int
	clipped int     // clip_high + clip_low
	dual    int     // dual_clip
	negKL   float64 // Σ −Δ
}

func (s *tokenStats) add(reg Region, d float64) {
	s.n++
	if reg == RegionClipHigh || reg == RegionClipLow {
		s.clipped++
	} else if reg == RegionDualClip {
		s.dual++
	}
	s.negKL -= d
}

func (s *tokenStats) metrics(loss float64) map[string]float64 {
	return ratioMetrics(loss, s.n, s.clipped, s.dual, s.negKL)
}
