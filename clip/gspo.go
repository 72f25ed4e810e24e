package clip

import (
	"fmt"
	"math"
)

// GSPOConfig configures GSPO (name "gspo").
type GSPOConfig struct {
	ClipRatioLow  float64 `mapstructure:"clip_ratio_low"`  // ε_l on the sequence ratio; default 3e-4 (the verl GSPO scripts)
	ClipRatioHigh float64 `mapstructure:"clip_ratio_high"` // ε_h on the sequence ratio; default 4e-4
	LogRatioMax   float64 `mapstructure:"log_ratio_max"`   // the token log-ratio is clamped at this from above (verl: 10)
}

// DefaultGSPOConfig returns the verl GSPO scripts' clip range (3e-4 / 4e-4)
// and verl's clamp at 10.
func DefaultGSPOConfig() GSPOConfig {
	return GSPOConfig{ClipRatioLow: 3e-4, ClipRatioHigh: 4e-4, LogRatioMax: 10}
}

// Validate names the offending key.
func (c GSPOConfig) Validate() error {
	if err := validateEps("gspo", c.ClipRatioLow, c.ClipRatioHigh); err != nil {
		return err
	}
	if !(c.LogRatioMax > 0) || math.IsInf(c.LogRatioMax, 0) {
		return fmt.Errorf("clip: gspo: log_ratio_max %v must be positive and finite", c.LogRatioMax)
	}
	return nil
}

// GSPO is the sequence-level clipped surrogate in its token form, verl's
// compute_policy_loss_gspo (spec §11):
//
//	λ_b = Σ_t Δ·m / max(n_b, 1),   s_b = exp(min(λ_b, 10))
//	ℓ   = max(−A·s_b, −A·clip(s_b, 1−ε_l, 1+ε_h))      (no dual clip)
//	L   = Agg(ℓ, m)   (verl: always seq-mean-token-mean)
//
// The token form log s_{b,t} = sg(λ_b) + logp − sg(logp) gives each token
// γ = −A·s_b through its own log-prob only, 0 where clipped or λ_b > 10.
// Metrics: pg_clipfrac = mean_m[pg2 > pg1], ppo_kl = mean_m[−Δ],
// pg_clipfrac_lower = 0 (a constant in verl). verl hard-codes
// seq-mean-token-mean; here loss_agg_mode acts as for every loss, and the
// bundled experiments set seq-mean-token-mean.
//
// Zheng et al. (2025) arXiv 2507.18071; volcengine/verl core_algos.py @ b178a3c.
type GSPO struct {
	cfg GSPOConfig
	agg Agg
	w   []float64
	lam []float64 // λ_b scratch
}

var _ Loss = (*GSPO)(nil)

// NewGSPO validates cfg and agg.
func NewGSPO(cfg GSPOConfig, agg Agg) (*GSPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &GSPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that GSPO reads only the required fields.
func (p *GSPO) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (p *GSPO) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, p.agg, p.w)
	if err != nil {
		return Result{}, err
	}
	p.w = w
	p.lam = growVec(p.lam, len(in.Logp))
	for b, logp := range in.Logp {
		var sum float64
		nb := 0
		for t, m := range in.Mask[b] {
			if m != 0 {
				sum += logp[t] - in.OldLogp[b][t]
				nb++
			}
		}
		p.lam[b] = sum / float64(max(nb, 1))
	}
	if tr := in.Trace; tr != nil {
		tr.SeqLogRatio = append(tr.SeqLogRatio[:0], p.lam...)
	}
	lo, hi := 1-p.cfg.ClipRatioLow, 1+p.cfg.ClipRatioHigh
	var n, clipped int
	var negKL float64
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		s := math.Exp(math.Min(p.lam[b], p.cfg.LogRatioMax))
		a := in.Adv[b][t]
		if -a*math.Max(lo, math.Min(hi, s)) > -a*s {
			clipped++
		}
		l, gm, reg := ppoToken(a, s, lo, hi, 0)
		if p.lam[b] > p.cfg.LogRatioMax && reg == RegionUnclipped {
			gm, reg = 0, RegionDualClip // the clamp acts as c = e^10
		}
		n++
		negKL -= in.Logp[b][t] - in.OldLogp[b][t]
		return l, gm, s, reg
	})
	return Result{Loss: loss, Grad: dst, Metrics: ratioMetrics(loss, n, clipped, 0, negKL)}, nil
}

func growVec(dst []float64, n int) []float64 {
	if cap(dst) < n {
		return make([]float64, n)
	}
	return dst[:n]
}
