package masked

import "math"

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
// named after the golden "stats" fields.
type EntropyStats struct {
	Pivot         float64 // μ: the pivot quantile of ln(max(H, ε))
	QuantileIndex int     // k = round_half_even(q·(N−1)) into the sorted values
	Std           float64 // s = sqrt(max(Σ(ℓ−μ)²/N, ε)), an RMS about the pivot
	PosMax        float64 // P = max(ε, max h over h > 0)
	NegMin        float64 // Q = min(−ε, min h over h < 0)
	ScalePos      float64 // 1/P
	ScaleNeg      float64 // 1/Q as released, 1/|Q| signed
	N             int     // valid tokens in the scope
}

// NormalizeEntropy writes HAPO's normalised entropy ĥ into dst for rows
// [r0, r1) of entropy (0 at masked positions), one statistics scope, and
// returns the statistics and the scratch buffer buf (grown). Spec §10.1,
// HAPO compute_entropy_h, with ε = eps (1e-8 upstream) and q the pivot:
//
//	ℓ = ln(max(H, ε));  μ = sorted(ℓ)[round_half_even(q·(N−1))]
//	h = (ℓ − μ)/s,  s = sqrt(max(Σ(ℓ−μ)²/N, ε))
//	ĥ = h·(1/P) if h > 0, else h·ScaleNeg
//
// dst must already have entropy's shape. A scope with no valid token gives
// zero statistics (N = 0).
func NormalizeEntropy(dst, entropy, mask [][]float64, r0, r1 int, q, eps float64, mode HHatMode, buf []float64) (EntropyStats, []float64) {
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
	mu := NthSmallest(buf, k)
	ss := 0.0 // summed in row-major order, whatever order the selection left buf in
	for b := r0; b < r1; b++ {
		for t, m := range mask[b] {
			if m != 0 {
				ss += (dst[b][t] - mu) * (dst[b][t] - mu)
			}
		}
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

// NthSmallest reorders x and returns its n-th smallest element (0-based),
// by quickselect with a median-of-three pivot and a branch-free partition
// (O(len(x)) on average). It panics if n is out of range.
func NthSmallest(x []float64, n int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		// median of three to x[hi] as the pivot
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[mid] < x[hi] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		p := x[hi]
		// Lomuto partition without a data-dependent branch: always swap,
		// advance i only past elements below the pivot ([lo,i) < p <= [i,j))
		i := lo
		for j := lo; j < hi; j++ {
			v := x[j]
			x[j] = x[i]
			x[i] = v
			i += b2i(v < p)
		}
		x[i], x[hi] = x[hi], x[i]
		switch {
		case n < i:
			hi = i - 1
		case n > i:
			lo = i + 1
		default:
			return x[i]
		}
	}
	return x[n]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
