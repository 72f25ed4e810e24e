package clip

import (
	"fmt"
	"math"
)

// ClipCovConfig configures Clip-Cov (name "clip_cov").
type ClipCovConfig struct {
	ClipRatioLow  float64 `mapstructure:"clip_ratio_low"`  // ε_l; default 0.2 (EM scripts: 1)
	ClipRatioHigh float64 `mapstructure:"clip_ratio_high"` // ε_h; default 0.2 (EM scripts: 1)
	ClipCovRatio  float64 `mapstructure:"clip_cov_ratio"`  // ρ, fraction of tokens detached; default 2e-4
	ClipCovLB     float64 `mapstructure:"clip_cov_lb"`     // ω_lo, exclusive; default 1
	ClipCovUB     float64 `mapstructure:"clip_cov_ub"`     // ω_hi, exclusive; default 5
	StatsRows     int     `mapstructure:"stats_rows"`      // rows per statistics scope; 0 = the whole Input
}

// DefaultClipCovConfig returns verl's defaults: ρ = 2e-4, ω = (1, 5),
// ε_l = ε_h = 0.2, one statistics scope.
func DefaultClipCovConfig() ClipCovConfig {
	return ClipCovConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipCovRatio: 2e-4, ClipCovLB: 1, ClipCovUB: 5}
}

// Validate names the offending key.
func (c ClipCovConfig) Validate() error {
	if err := validateEps("clip_cov", c.ClipRatioLow, c.ClipRatioHigh); err != nil {
		return err
	}
	if !(c.ClipCovRatio >= 0 && c.ClipCovRatio <= 1) {
		return fmt.Errorf("clip: clip_cov: clip_cov_ratio %v must be in [0, 1]", c.ClipCovRatio)
	}
	if math.IsNaN(c.ClipCovLB) || math.IsNaN(c.ClipCovUB) || !(c.ClipCovLB < c.ClipCovUB) {
		return fmt.Errorf("clip: clip_cov: clip_cov_lb %v must be below clip_cov_ub %v", c.ClipCovLB, c.ClipCovUB)
	}
	if c.StatsRows < 0 {
		return fmt.Errorf("clip: clip_cov: stats_rows %d must be >= 0 (0 = whole input)", c.StatsRows)
	}
	return nil
}

// ClipCov detaches a random few of the tokens whose centred covariance
// between advantage and log-prob is large, and PPO-clips the rest (no dual
// clip, no log-ratio clamp). Spec §6.
//
//	r = exp(logp − oldLogp);  ℓ_ppo = max(−A·r, −A·clip(r, 1−ε_l, 1+ε_h))
//	Ā = mean_m(A),  l̄ = mean_m(sg(logp))           (masked_mean, +1e-8)
//	cov = (A − Ā)·(logp − l̄)
//	C = {m=1, not PPO-clipped, ω_lo < cov < ω_hi}
//	k = max(⌊ρ·N⌋, 1);  S = the min(k, |C|) members of C with the smallest u
//	ℓ = ℓ_ppo·(1 − [t∈S]),  L = Agg(ℓ, m)
//
// u is Input.Uniform[b][t], or, when Uniform is nil, one Input.Rand.Float64()
// per candidate in row-major order; ties go to the smaller row-major index.
// This deterministic rule replaces upstream's torch.randperm (same
// distribution: a uniformly random k-subset). Selected tokens get γ = 0 and
// a zero loss value (the code's behaviour; the paper only says the gradient
// is detached) but still count in N and S. Statistics (centring, k) are per
// scope of StatsRows rows; upstream computes them per micro-batch.
//
// Metrics: pg_loss; pg_clipfrac = |S|/N (not the PPO clip fraction!);
// ppo_kl = mean_m(−Δ); n_valid, clip_num (k, summed over scopes),
// n_candidates, n_selected; adv_mean = Ā and logp_mean = l̄ over the whole
// input.
//
// Cui et al. (2025), "The Entropy Mechanism of Reinforcement Learning for
// Reasoning Language Models", arXiv 2505.22617. Code:
// PRIME-RL/Entropy-Mechanism-of-RL and volcengine/verl
// compute_policy_loss_clip_cov @ b178a3c.
type ClipCov struct {
	cfg   ClipCovConfig
	agg   Agg
	w     []float64
	cands []keyed
	sel   []keyed
}

var _ Loss = (*ClipCov)(nil)

// NewClipCov validates cfg and agg.
func NewClipCov(cfg ClipCovConfig, agg Agg) (*ClipCov, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &ClipCov{cfg: cfg, agg: agg}, nil
}

// Needs reports that Clip-Cov reads Input.Uniform or Input.Rand.
func (c *ClipCov) Needs() Needs { return Needs{Random: true} }

// Compute implements Loss.
func (c *ClipCov) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, c.Needs(), c.agg, c.w)
	if err != nil {
		return Result{}, err
	}
	c.w = w
	tr := in.Trace
	if tr != nil {
		tr.Cov = growLike(tr.Cov, in.Logp)
		tr.ClipByOrigin = growLike(tr.ClipByOrigin, in.Logp)
		tr.Candidate = growLike(tr.Candidate, in.Logp)
		tr.Selected = zeroedLike(tr.Selected, in.Logp)
		tr.SelectedList = tr.SelectedList[:0]
	}
	lo, hi := 1-c.cfg.ClipRatioLow, 1+c.cfg.ClipRatioHigh

	// Pass 1, per scope: centring, candidates, selection.
	c.sel = c.sel[:0]
	var clipNum, nCand int
	var advSum, logpSum float64
	scopes(len(in.Logp), c.cfg.StatsRows, func(r0, r1 int) {
		n, sa, sl := scopeSums(in, r0, r1)
		advSum, logpSum = advSum+sa, logpSum+sl
		aMean, lMean := sa/maskedMeanDen(n), sl/maskedMeanDen(n)
		c.cands = c.cands[:0]
		for b := r0; b < r1; b++ {
			logp, old, adv, mask := in.Logp[b], in.OldLogp[b], in.Adv[b], in.Mask[b]
			for t := range logp {
				if mask[t] == 0 {
					if tr != nil {
						tr.Cov[b][t], tr.ClipByOrigin[b][t], tr.Candidate[b][t] = 0, false, false
					}
					continue
				}
				_, _, reg := ppoToken(adv[t], math.Exp(logp[t]-old[t]), lo, hi, 0)
				clipped := reg == RegionClipHigh || reg == RegionClipLow
				cov := (adv[t] - aMean) * (logp[t] - lMean)
				cand := !clipped && c.cfg.ClipCovLB < cov && cov < c.cfg.ClipCovUB
				if cand {
					var u float64
					if in.Uniform != nil {
						u = in.Uniform[b][t]
					} else {
						u = in.Rand.Float64()
					}
					c.cands = append(c.cands, keyed{key: u, b: int32(b), t: int32(t)})
				}
				if tr != nil {
					tr.Cov[b][t], tr.ClipByOrigin[b][t], tr.Candidate[b][t] = cov, clipped, cand
				}
			}
		}
		k := max(int(c.cfg.ClipCovRatio*float64(n)), 1)
		clipNum += k
		nCand += len(c.cands)
		c.sel = append(c.sel, smallestK(c.cands, k)...)
	})

	// Pass 2: loss and gradient; c.sel is in row-major order.
	var st tokenStats
	next := 0
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d := in.Logp[b][t] - in.OldLogp[b][t]
		r := math.Exp(d)
		l, gm, reg := ppoToken(in.Adv[b][t], r, lo, hi, 0)
		sel := next < len(c.sel) && int(c.sel[next].b) == b && int(c.sel[next].t) == t
		if sel {
			l, gm = 0, 0
			next++
		}
		st.add(reg, d)
		if tr != nil && sel {
			tr.Selected[b][t] = true
			tr.SelectedList = append(tr.SelectedList, [2]int{b, t})
		}
		return l, gm, r, reg
	})
	den := maskedMeanDen(st.n)
	return Result{Loss: loss, Grad: dst, Metrics: map[string]float64{
		"pg_loss":      loss,
		"pg_clipfrac":  float64(len(c.sel)) / den,
		"ppo_kl":       st.negKL / den,
		"n_valid":      float64(st.n),
		"clip_num":     float64(clipNum),
		"n_candidates": float64(nCand),
		"n_selected":   float64(len(c.sel)),
		"adv_mean":     advSum / den,
		"logp_mean":    logpSum / den,
	}}, nil
}
