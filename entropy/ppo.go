package entropy

import (
	"fmt"
	"math"
)

// dualClip is the per-token dual-clip PPO surrogate shared by STEER (verl)
// and AEPO (EasyR1):
//
//	Δ    = ℓ − ℓ^old            (verl clamps Δ to ±logClamp; EasyR1 does not)
//	r    = exp(Δ)
//	c1   = max(−A·r, −A·clip(r, 1−ε_low, 1+ε_high))
//	pg   = c1                   if A ≥ 0
//	     = min(c1, −A·c_dual)   if A < 0
//	∂pg/∂ℓ = −A·r when the unclipped branch is active, else 0
//
// logSpace clips Δ to [log(1−ε_low), log(1+ε_high)] before exp, as EasyR1
// does; the value is the same up to round-off.
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
	var rc float64
	if p.logSpace {
		rc = math.Exp(math.Max(math.Log1p(-p.low), math.Min(math.Log1p(p.high), d)))
	} else {
		rc = math.Max(1-p.low, math.Min(1+p.high, r))
	}
	pg1 := -adv * r
	pg2 := -adv * rc
	c1 := math.Max(pg1, pg2)
	tok := ppoToken{ratio: r, negKL: d, clipped: pg2 > pg1}
	unclipped := pg1 >= pg2
	pg := c1
	if adv < 0 {
		pg3 := -adv * p.c
		if c1 > pg3 {
			tok.lower = true
			unclipped = false
			pg = pg3
		}
	}
	tok.pg = pg
	if unclipped && !clamped {
		tok.grad = -adv * r
	}
	return tok
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

// ppoMetrics adds the clip family's statistics (token-means over mask).
func ppoMetrics(met map[string]float64, clipped, lower, negKL, n float64) {
	if n == 0 {
		met["pg_clipfrac"], met["pg_clipfrac_lower"], met["ppo_kl"] = 0, 0, 0
		return
	}
	met["pg_clipfrac"] = clipped / n
	met["pg_clipfrac_lower"] = lower / n
	met["ppo_kl"] = -negKL / n
}
