package clip

import (
	"fmt"
	"math"
)

// HHatMode selects how HAPO's normalised entropy ĥ treats the low-entropy
// side (spec §10.1).
type HHatMode string

const (
	// HHatSigned is the behaviour every prose description states: ĥ = h/P
	// for h > 0, h/|Q| otherwise, so ĥ ∈ [−1, 1] and the lowest-entropy
	// token gets −1. The recommended default; not checked against upstream.
	HHatSigned HHatMode = "signed"
	// HHatAsReleased reproduces the released code: h·(1/Q) with Q < 0 on the
	// low side, so ĥ ≥ 0 everywhere and the low-entropy sign is lost. Use it
	// to reproduce the reported runs.
	HHatAsReleased HHatMode = "as_released"
)

// EntropyStats are HAPO's entropy-normalisation statistics for one scope,
// named after the golden "stats" fields. The sampler's adaptive temperature
// reuses (Pivot, Std, ScalePos, ScaleNeg) from the previous step's batch.
type EntropyStats struct {
	Pivot         float64 // μ: the entropy_pivot quantile of ln(max(H, 1e-8)) ("median")
	QuantileIndex int     // k = round_half_even(q·(N−1)) into the sorted values
	Std           float64 // s = sqrt(max(Σ(ℓ−μ)²/N, 1e-8)), an RMS about the pivot
	PosMax        float64 // P = max(1e-8, max h over h > 0)
	NegMin        float64 // Q = min(−1e-8, min h over h < 0)
	ScalePos      float64 // 1/P
	ScaleNeg      float64 // 1/Q as released, 1/|Q| signed
	N             int     // valid tokens in the scope
}

// NormalizeEntropy writes HAPO's normalised entropy ĥ [B][T] (0 at masked
// positions) for all of entropy, as one scope, and returns it with the
// statistics (spec §10.1, HAPO compute_entropy_h):
//
//	ℓ = ln(max(H, 1e-8));  μ = sorted(ℓ)[round_half_even(q·(N−1))]
//	h = (ℓ − μ)/s,  s = sqrt(max(Σ(ℓ−μ)²/N, 1e-8))
//	ĥ = h·(1/P) if h > 0, else h·ScaleNeg
//
// dst is grown as needed. An input with no valid token gives ĥ = 0 and zero
// statistics.
func NormalizeEntropy(dst, entropy, mask [][]float64, pivot float64, mode HHatMode) ([][]float64, EntropyStats) {
	dst = growLike(dst, entropy)
	st, _ := normalizeEntropyRows(dst, entropy, mask, 0, len(entropy), pivot, mode, nil)
	return dst, st
}

// normalizeEntropyRows does NormalizeEntropy for rows [r0, r1) using the
// scratch buffer buf, which it returns (grown).
func normalizeEntropyRows(dst, entropy, mask [][]float64, r0, r1 int, q float64, mode HHatMode, buf []float64) (EntropyStats, []float64) {
	const eps = 1e-8
	buf = buf[:0]
	for b := r0; b < r1; b++ {
		for t, m := range mask[b] {
			if m == 0 {
				dst[b][t] = 0
				continue
			}
			l := math.Log(max(entropy[b][t], eps))
			dst[b][t] = l
			buf = append(buf, l)
		}
	}
	n := len(buf)
	if n == 0 {
		return EntropyStats{}, buf
	}
	k := int(math.RoundToEven(q * float64(n-1)))
	k = min(max(k, 0), n-1)
	mu := nthSmallest(buf, k)
	ss := 0.0
	for _, l := range buf {
		ss += (l - mu) * (l - mu)
	}
	s := math.Sqrt(max(ss/float64(n), eps))
	pos, neg := eps, -eps
	for b := r0; b < r1; b++ {
		for t, m := range mask[b] {
			if m == 0 {
				continue
			}
			h := (dst[b][t] - mu) / s
			dst[b][t] = h
			if h > 0 {
				pos = max(pos, h)
			} else if h < 0 {
				neg = min(neg, h)
			}
		}
	}
	st := EntropyStats{Pivot: mu, QuantileIndex: k, Std: s, PosMax: pos, NegMin: neg, ScalePos: 1 / pos, N: n}
	if mode == HHatAsReleased {
		st.ScaleNeg = 1 / neg
	} else {
		st.ScaleNeg = 1 / -neg
	}
	for b := r0; b < r1; b++ {
		for t, m := range mask[b] {
			if m == 0 {
				continue
			}
			if h := dst[b][t]; h > 0 {
				dst[b][t] = h * st.ScalePos
			} else {
				dst[b][t] = h * st.ScaleNeg
			}
		}
	}
	return st, buf
}

// nthSmallest returns the k-th smallest element (0-based) of xs, reordering
// xs (Hoare/Wirth selection, O(n) on average).
func nthSmallest(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		a, b, c := xs[lo], xs[lo+(hi-lo)/2], xs[hi]
		p := max(min(a, b), min(max(a, b), c)) // median of three
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := agg.Validate(); err != nil {
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
		tr.grow(in.Logp)
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
		st, h.buf = normalizeEntropyRows(hhat, in.Entropy, in.Mask, r0, r1, h.cfg.EntropyPivot, h.cfg.HHatMode, h.buf)
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
