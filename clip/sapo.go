package clip

import (
	"fmt"
	"math"
)

// SAPOConfig configures SAPO (name "sapo").
type SAPOConfig struct {
	TauPos        float64 `mapstructure:"tau_pos"`         // gate sharpness for A > 0; default 1.0 (verl, TRL, the paper)
	TauNeg        float64 `mapstructure:"tau_neg"`         // gate sharpness for A ≤ 0; default 1.05
	LogRatioClamp float64 `mapstructure:"log_ratio_clamp"` // Δ clamped to ±this before exp (verl: 20); 0 disables
}

// DefaultSAPOConfig returns verl's actor defaults τ_pos = 1, τ_neg = 1.05, ±20.
func DefaultSAPOConfig() SAPOConfig {
	return SAPOConfig{TauPos: 1, TauNeg: 1.05, LogRatioClamp: 20}
}

// Validate names the offending key.
func (c SAPOConfig) Validate() error {
	for _, k := range []struct {
		key string
		v   float64
	}{{"tau_pos", c.TauPos}, {"tau_neg", c.TauNeg}} {
		if !(k.v > 0) || math.IsInf(k.v, 0) {
			return fmt.Errorf("clip: sapo: %s %v must be positive and finite", k.key, k.v)
		}
	}
	return validateClamp("sapo", c.LogRatioClamp)
}

// SAPO replaces the hard clip by a soft gate, verl's compute_policy_loss_sapo
// (spec §13):
//
//	Δ̃ = clamp(Δ, ±20),  r = exp(Δ̃),  τ = τ_pos if A > 0 else τ_neg
//	f(r) = σ(τ·(r − 1))·4/τ,  ℓ = −f(r)·A,  L = Agg(ℓ, m) (verl: seq-mean-token-mean)
//	γ = −4·A·r·σ·(1 − σ)   (0 where |Δ| exceeds the clamp)
//
// At r = 1 the gradient is REINFORCE's −A; it decays smoothly away from 1.
// Every valid token with A ≠ 0 is region 1. Metrics: pg_clipfrac =
// pg_clipfrac_lower = 0 (constants in verl), ppo_kl = mean_m[−Δ̃]. verl
// hard-codes seq-mean-token-mean; here loss_agg_mode acts as for every loss,
// and the bundled experiments set seq-mean-token-mean.
//
// Gao et al. (2025) arXiv 2511.20347; volcengine/verl core_algos.py @ b178a3c.
type SAPO struct {
	cfg SAPOConfig
	agg Agg
	w   []float64
}

var _ Loss = (*SAPO)(nil)

// NewSAPO validates cfg and agg.
func NewSAPO(cfg SAPOConfig, agg Agg) (*SAPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &SAPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that SAPO reads only the required fields.
func (p *SAPO) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (p *SAPO) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, p.agg, p.w)
	if err != nil {
		return Result{}, err
	}
	p.w = w
	tr := in.Trace
	if tr != nil {
		tr.Tau = zeroedLike(tr.Tau, in.Logp)
		tr.Gate = zeroedLike(tr.Gate, in.Logp)
	}
	var n int
	var negKL float64
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d, dr := clampLogRatio(in.Logp[b][t]-in.OldLogp[b][t], p.cfg.LogRatioClamp)
		r := math.Exp(d)
		a := in.Adv[b][t]
		tau := p.cfg.TauNeg
		if a > 0 {
			tau = p.cfg.TauPos
		}
		sig := 1 / (1 + math.Exp(-tau*(r-1)))
		f := sig * 4 / tau
		reg := RegionUnclipped
		if a == 0 {
			reg = RegionZeroAdv
		}
		n++
		negKL -= d
		if tr != nil {
			tr.Tau[b][t], tr.Gate[b][t] = tau, f
		}
		return -f * a, -4 * a * r * sig * (1 - sig) * dr, r, reg
	})
	return Result{Loss: loss, Grad: dst, Metrics: ratioMetrics(loss, n, 0, 0, negKL)}, nil
}
