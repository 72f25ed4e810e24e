package entropy

import (
	"fmt"
	"math"
	"slices"
)

// HighEntropyMask keeps the high-entropy minority of tokens ("Beyond the
// 80/20 Rule", Wang et al. 2025, arXiv 2506.01939; TRL grpo_trainer
// get_high_entropy_mask). With ρ = top_entropy_quantile:
//
//	θ      = Quantile_linear({H[b,t] : m = 1}, q = 1 − ρ)   (torch.quantile's default)
//	k[b,t] = m[b,t] ∧ (H[b,t] ≥ θ)                         (ties at θ are kept)
//
// ρ = 1 (TRL's default) turns the mask off: k = m. ρ = 0 keeps only the
// maximum-entropy token(s); the paper recommends 0.2. TRL multiplies the
// per-token loss by k but keeps m in the normaliser, which scales the
// gradient down by about ρ. The quantile is per forward batch. It keeps a
// scratch buffer and is not safe for concurrent use.
type HighEntropyMask struct {
	Rho float64 // top_entropy_quantile ρ ∈ [0, 1]
	buf []float64
}

// Apply writes k into dst (shaped like mask; allocated when nil or short) and
// returns it with the threshold θ (−Inf when the mask is off or no token is
// valid) and the number of kept tokens. It panics if entropy does not cover
// mask.
func (h *HighEntropyMask) Apply(dst, entropy, mask [][]float64) (k [][]float64, threshold float64, kept int) {
	checkShape2("entropy", entropy, mask)
	dst = ensure2(dst, mask)
	threshold = math.Inf(-1)
	if h.Rho < 1 {
		h.buf = h.buf[:0]
		for b, row := range mask {
			for t, m := range row {
				if m != 0 {
					h.buf = append(h.buf, entropy[b][t])
				}
			}
		}
		if len(h.buf) > 0 {
			threshold = quantileLinear(h.buf, 1-h.Rho)
		} else {
			threshold = math.Inf(1) // nothing valid: the mask is all false
		}
	}
	for b, row := range mask {
		for t, m := range row {
			if m != 0 && entropy[b][t] >= threshold {
				dst[b][t] = 1
				kept++
			} else {
				dst[b][t] = 0
			}
		}
	}
	if math.IsInf(threshold, 1) {
		threshold = math.Inf(-1)
	}
	return dst, threshold, kept
}

// quantileLinear sorts x in place and returns its q-quantile with linear
// interpolation: pos = q·(n−1), θ = s[⌊pos⌋] + (s[⌈pos⌉] − s[⌊pos⌋])·(pos − ⌊pos⌋).
func quantileLinear(x []float64, q float64) float64 {
	slices.Sort(x)
	pos := q * float64(len(x)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	lo = min(max(lo, 0), len(x)-1)
	hi = min(max(hi, 0), len(x)-1)
	return x[lo] + (x[hi]-x[lo])*(pos-float64(lo))
}

func validateRho(key string, rho float64) error {
	if !(rho >= 0 && rho <= 1) {
		return fmt.Errorf("entropy: %s %v must lie in [0, 1] (1 turns the mask off)", key, rho)
	}
	return nil
}
