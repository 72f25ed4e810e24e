package entropy

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/masked"
	"github.com/entrolab/entrolab/pg"
)

// dualClip configures pg.PPOToken for the entropy family's PPO-shaped
// losses, STEER (verl: Δ clamped to ±logClamp) and AEPO (EasyR1: no clamp,
// the ratio clipped in log space, so the bounds are exp(log(1∓ε))):
//
//	Δ = ℓ − ℓ^old,  r = exp(Δ)
//	pg = max(−A·r, −A·clip(r, lo, hi)), and min(·, −A·c) if A < 0
//	∂pg/∂ℓ = −A·r on the unclipped branch, else 0
type dualClip struct {
	low, high, c float64
	logClamp     float64 // 0: no clamp
	logSpace     bool
}

type ppoToken struct {
	pg, grad, ratio, negKL float64
	clipped, lower         bool
}

func (p dualClip) token(logp, old, adv float64) ppoToken {
	d := logp - old
	clamped := false
	if p.logClamp > 0 && (d > p.logClamp || d < -p.logClamp) {
		d = math.Max(-p.logClamp, math.Min(p.logClamp, d))
		clamped = true
	}
	r := math.Exp(d)
	lo, hi := 1-p.low, 1+p.high
	if p.logSpace {
		lo, hi = math.Exp(math.Log1p(-p.low)), math.Exp(math.Log1p(p.high))
	}
	l, g, reg := pg.PPOToken(adv, r, lo, hi, p.c)
	if clamped {
		g = 0
	}
	return ppoToken{pg: l, grad: g, ratio: r, negKL: d,
		clipped: reg == pg.RegionClipHigh || reg == pg.RegionClipLow, lower: reg == pg.RegionDualClip}
}

func validateClip(prefix string, low, high, c float64) error {
	if !(low > 0 && low < 1) {
		return fmt.Errorf("entropy: %s.clip_ratio_low %v must lie in (0, 1)", prefix, low)
	}
	if !(high > 0) || math.IsInf(high, 0) {
		return fmt.Errorf("entropy: %s.clip_ratio_high %v must be positive and finite", prefix, high)
	}
	if !(c > 1) || math.IsInf(c, 0) {
		return fmt.Errorf("entropy: %s.clip_ratio_c %v must exceed 1 and be finite", prefix, c)
	}
	return nil
}

// weightedPPO is the token loop STEER and AEPO share: over the valid
// tokens, L = Σ W·w·pg and ∂L/∂ℓ = W·w·γ into dst, with W the
// aggregation weight and w the per-token weight (nil: 1). It returns L and
// the metrics pg_loss, pg_clipfrac, pg_clipfrac_lower and ppo_kl.
func weightedPPO(dst [][]float64, in pg.Input, p dualClip, agg *aggregator, weights [][]float64) (float64, map[string]float64) {
	var loss, clipped, lower, negKL float64
	n := 0
	for b, row := range in.Mask {
		for t, m := range row {
			if m == 0 {
				dst[b][t] = 0
				continue
			}
			tok := p.token(in.Logp[b][t], in.OldLogp[b][t], in.Adv[b][t])
			W := agg.weight(b, m)
			if weights != nil {
				W *= weights[b][t]
			}
			loss += W * tok.pg
			dst[b][t] = W * tok.grad
			n++
			negKL += m * tok.negKL
			if tok.clipped {
				clipped += m
			}
			if tok.lower {
				lower += m
			}
		}
	}
	met := map[string]float64{"pg_loss": loss}
	ppoMetrics(met, clipped, lower, negKL, n)
	return loss, met
}

// ppoMetrics adds the clip family's statistics: verl's masked means over
// the n valid tokens (denominator n + 1e-8, as in package clip).
func ppoMetrics(met map[string]float64, clipped, lower, negKL float64, n int) {
	den := masked.Den(n)
	met["pg_clipfrac"] = clipped / den
	met["pg_clipfrac_lower"] = lower / den
	met["ppo_kl"] = -negKL / den
}
