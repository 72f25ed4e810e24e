package clip

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/masked"
)

// HHatMode selects how HAPO's normalised entropy ĥ treats the low-entropy
// side; EntropyStats are its statistics for one scope (spec §10.1). Both live
// in package masked, shared with the sampler's adaptive temperature.
type (
	HHatMode     = masked.HHatMode
	EntropyStats = masked.EntropyStats
)

// The ĥ modes (see masked).
const (
	HHatSigned     = masked.HHatSigned
	HHatAsReleased = masked.HHatAsReleased
)

// NormalizeEntropy writes HAPO's normalised entropy ĥ [B][T] (0 at masked
// positions) for all of entropy, as one scope, and returns it with the
// statistics (masked.NormalizeEntropy with ε = 1e-8, as HAPO's loss uses).
// dst is grown as needed.
func NormalizeEntropy(dst, entropy, mask [][]float64, pivot float64, mode HHatMode) ([][]float64, EntropyStats) {
	dst = growLike(dst, entropy)
	st, _ := masked.NormalizeEntropy(dst, entropy, mask, 0, len(entropy), pivot, 1e-8, mode, nil)
	return dst, st
}

// HAPOConfig configures HAPO's policy loss (name "hapo").
type HAPOConfig struct {
	ClipRatioLow      float64  `mapstructure:"clip_ratio_low"`     // ε_l; default 0.2
	ClipRatioHigh     float64  `mapstructure:"clip_ratio_high"`    // ε_h; default 0.2
	ClipRatioC        float64  `mapstructure:"clip_ratio_c"`       // dual-clip c (> 1); 0 disables; default 10 (recipes; yaml 3)
	EntropyPivot      float64  `mapstructure:"entropy_pivot"`      // q, pivot quantile; default 0.8
	AdaptiveClip      bool     `mapstructure:"adaptive_clip"`      // AAC on; default true
	ClipAlpha         float64  `mapstructure:"clip_alpha"`         // α; default 1
	AdaptiveAdvantage bool     `mapstructure:"adaptive_advantage"` // DAR on; default true
	AdvBeta           float64  `mapstructure:"adv_beta"`           // β; default 1
	HHatMode          HHatMode `mapstructure:"hhat_mode"`          // signed (default) or as_released
	StatsRows         int      `mapstructure:"stats_rows"`         // rows per ĥ statistics scope; 0 = the whole Input
}

// DefaultHAPOConfig returns the HAPO recipes' setting with the signed ĥ.
func DefaultHAPOConfig() HAPOConfig {
	return HAPOConfig{
		ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipRatioC: 10, EntropyPivot: 0.8,
		AdaptiveClip: true, ClipAlpha: 1, AdaptiveAdvantage: true, AdvBeta: 1,
		HHatMode: HHatSigned,
	}
}

// Validate names the offending key.
func (c HAPOConfig) Validate() error {
	if err := validateEps("hapo", c.ClipRatioLow, c.ClipRatioHigh); err != nil {
		return err
	}
	if err := validateDual("hapo", c.ClipRatioC); err != nil {
		return err
	}
	if !(c.EntropyPivot >= 0 && c.EntropyPivot <= 1) {
		return fmt.Errorf("clip: hapo: entropy_pivot %v must be in [0, 1]", c.EntropyPivot)
	}
	if !(c.ClipAlpha >= 0) || math.IsInf(c.ClipAlpha, 0) {
		return fmt.Errorf("clip: hapo: clip_alpha %v must be finite and >= 0", c.ClipAlpha)
	}
	if !(c.AdvBeta >= 0) || math.IsInf(c.AdvBeta, 0) {
		return fmt.Errorf("clip: hapo: adv_beta %v must be finite and >= 0", c.AdvBeta)
	}
	if c.HHatMode != HHatSigned && c.HHatMode != HHatAsReleased {
		return fmt.Errorf("clip: hapo: hhat_mode %q is unknown (known: %s, %s)", c.HHatMode, HHatAsReleased, HHatSigned)
	}
	if c.StatsRows < 0 {
		return fmt.Errorf("clip: hapo: stats_rows %d must be >= 0 (0 = whole input)", c.StatsRows)
	}
	return nil
}

// HAPO is the dual-clip PPO surrogate with entropy-driven per-token bounds
// (Asymmetric Adaptive Clipping, AAC) and advantages (Differential Advantage
// Redistribution, DAR), spec §10.4–10.6. ĥ is NormalizeEntropy of
// Input.Entropy per statistics scope (upstream: per micro-batch).
//
//	AAC: ε_l,t = ε_l·(1 − α·ĥ) if ĥ ≤ 0 else ε_l;  ε_h,t = ε_h·(1 + α·ĥ) if ĥ > 0 else ε_h
//	DAR: Z = (1 − ε_l,t/2, 1 + ε_h,t/2) open, r detached;
//	     A′ = A·(1 + β·ĥ) if (ĥ > 0 and r ∉ Z) or (ĥ ≤ 0 and r ∈ Z), else A
//	ℓ = PPO(A′, r, [1−ε_l,t, 1+ε_h,t], c),  L = Agg(ℓ, m)
//
// γ is PPO's with A′ and the per-token bounds; ĥ and A′ carry no gradient.
// No log-ratio clamp. With both parts off it is PPO without the clamp.
// Regions and metrics use A′ and the per-token bounds.
//
// Metrics: pg_loss, pg_clipfrac, pg_clipfrac_lower, ppo_kl (as PPO), and
// hapo_hhat_mean = mean_m(ĥ), hapo_adv_scaled_frac = mean_m[A′ ≠ A].
//
// HAPO, arXiv 2509.16591. Code: starriver030515/HAPO
// verl/trainer/ppo/core_algos.py compute_policy_loss, compute_entropy_h @ 7671dde.
type HAPO struct {
	cfg  HAPOConfig
	agg  Agg
	w    []float64
	hhat [][]float64
	buf  []float64
}

var _ Loss = (*HAPO)(nil)

// NewHAPO validates cfg and agg.
func NewHAPO(cfg HAPOConfig, agg Agg) (*HAPO, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &HAPO{cfg: cfg, agg: agg}, nil
}

// Needs reports that HAPO reads Input.Entropy.
func (h *HAPO) Needs() Needs { return Needs{Entropy: true} }

// Compute implements Loss.
func (h *HAPO) Compute(dst [][]float64, in Input) (Result, error) {
	if err := checkInput(in, h.Needs()); err != nil {
		return Result{}, err
	}
	dst = growLike(dst, in.Logp)
	h.w = h.agg.RowWeights(h.w, in.Mask)
	tr := in.Trace
	hhat := h.hhat
	if tr != nil {
		growTrace(tr, in.Logp)
		tr.HHat = growLike(tr.HHat, in.Logp)
		tr.EpsLow = growLike(tr.EpsLow, in.Logp)
		tr.EpsHigh = growLike(tr.EpsHigh, in.Logp)
		tr.AdvUsed = growLike(tr.AdvUsed, in.Logp)
		tr.Neutral = growLike(tr.Neutral, in.Logp)
		tr.Stats = tr.Stats[:0]
		hhat = tr.HHat
	} else {
		hhat = growLike(hhat, in.Logp)
		h.hhat = hhat
	}
	scopes(len(in.Logp), h.cfg.StatsRows, func(r0, r1 int) {
		var st EntropyStats
		st, h.buf = masked.NormalizeEntropy(hhat, in.Entropy, in.Mask, r0, r1, h.cfg.EntropyPivot, 1e-8, h.cfg.HHatMode, h.buf)
		if tr != nil {
			tr.Stats = append(tr.Stats, st)
		}
	})

	cfg := h.cfg
	var st tokenStats
	var hSum float64
	nScaled := 0
	loss := 0.0
	for b, logp := range in.Logp {
		old, adv, mask, g, w, hh := in.OldLogp[b], in.Adv[b], in.Mask[b], dst[b], h.w[b], hhat[b]
		sum := 0.0
		for t := range logp {
			if mask[t] == 0 {
				g[t] = 0
				if tr != nil {
					tr.Loss[b][t], tr.Ratio[b][t], tr.Region[b][t] = 0, 0, RegionMasked
					tr.EpsLow[b][t], tr.EpsHigh[b][t], tr.AdvUsed[b][t], tr.Neutral[b][t] = 0, 0, 0, false
				}
				continue
			}
			e := hh[t]
			epsL, epsH := cfg.ClipRatioLow, cfg.ClipRatioHigh
			if cfg.AdaptiveClip {
				if e <= 0 {
					epsL = cfg.ClipRatioLow * (1 - cfg.ClipAlpha*e)
				} else {
					epsH = cfg.ClipRatioHigh * (1 + cfg.ClipAlpha*e)
				}
			}
			d := logp[t] - old[t]
			r := math.Exp(d)
			a := adv[t]
			neutral := false
			if cfg.AdaptiveAdvantage {
				neutral = r > 1-epsL/2 && r < 1+epsH/2
				if (e > 0 && !neutral) || (e <= 0 && neutral) {
					a = adv[t] * (1 + cfg.AdvBeta*e)
				}
			}
			l, gm, reg := ppoToken(a, r, 1-epsL, 1+epsH, cfg.ClipRatioC)
			sum += l
			g[t] = w * gm
			st.add(reg, d)
			hSum += e
			if a != adv[t] {
				nScaled++
			}
			if tr != nil {
				tr.Loss[b][t], tr.Ratio[b][t], tr.Region[b][t] = l, r, reg
				tr.EpsLow[b][t], tr.EpsHigh[b][t], tr.AdvUsed[b][t], tr.Neutral[b][t] = epsL, epsH, a, neutral
			}
		}
		loss += w * sum
	}
	m := st.metrics(loss)
	den := maskedMeanDen(st.n)
	m["hapo_hhat_mean"] = hSum / den
	m["hapo_adv_scaled_frac"] = float64(nScaled) / den
	return Result{Loss: loss, Grad: dst, Metrics: m}, nil
}
