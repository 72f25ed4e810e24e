package masked

import (
	"fmt"
	"strings"
)

// AggMode names a loss aggregation: how a per-token loss matrix ℓ [B][T]
// becomes one scalar. The names are verl's loss_agg_mode values.
type AggMode string

// The four aggregation modes (spec §2.2). N = Σm valid tokens, n_b the
// valid tokens of row b, S the number of non-empty rows, K the scale factor.
const (
	// TokenMean is L = Σ ℓ·m / N (verl default, DAPO).
	TokenMean AggMode = "token-mean"
	// SeqMeanTokenSum is L = Σ_b (Σ_t ℓ·m) / S.
	SeqMeanTokenSum AggMode = "seq-mean-token-sum"
	// SeqMeanTokenMean is L = Σ_{b: n_b>0} [Σ_t ℓ·m / (n_b + 1e-8)] / S
	// (the original GRPO form).
	SeqMeanTokenMean AggMode = "seq-mean-token-mean"
	// SeqMeanTokenSumNorm is L = Σ ℓ·m / K with K = loss_scale_factor, or
	// the padded width T when unset (Dr. GRPO, verl semantics: no division
	// by the number of rows, unlike TRL's dr_grpo).
	SeqMeanTokenSumNorm AggMode = "seq-mean-token-sum-norm"
)

var aggModes = []AggMode{TokenMean, SeqMeanTokenSum, SeqMeanTokenMean, SeqMeanTokenSumNorm}

// AggModes lists the aggregation modes.
func AggModes() []AggMode { return append([]AggMode(nil), aggModes...) }

// Agg is verl's agg_loss for one data-parallel rank (spec §2.2), shared by
// every policy loss (clip) and entropy regularizer (entropy).
//
//	token-mean               L = Σ ℓ·m / N                      w = m/N
//	seq-mean-token-sum       L = Σ_b (Σ_t ℓ·m) / S              w = m/S
//	seq-mean-token-mean      L = Σ_b [Σ_t ℓ·m/(n_b+1e-8)] / S   w = m/((n_b+1e-8)·S)
//	seq-mean-token-sum-norm  L = Σ ℓ·m / K                      w = m/K
//
// w = ∂L/∂ℓ[b,t]. Fully masked rows are excluded from S (new-verl
// behaviour); when N = 0 (or S = 0) the loss is 0 — a workbench choice,
// verl divides by zero there. K is ScaleFactor, or when that is 0 the padded
// width T, taken as the longest row of the mask.
//
// The normalisers are those of whatever is passed in: hand the whole
// mini-batch to get the spec's recommended global normalisation.
//
// Source: volcengine/verl verl/trainer/ppo/core_algos.py agg_loss @ b178a3c.
type Agg struct {
	Mode        AggMode `mapstructure:"loss_agg_mode"`     // default token-mean
	ScaleFactor float64 `mapstructure:"loss_scale_factor"` // K for seq-mean-token-sum-norm; 0 = padded width T
}

// DefaultAgg returns verl's default, token-mean.
func DefaultAgg() Agg { return Agg{Mode: TokenMean} }

// Validate reports an unknown mode or a negative scale factor.
func (a Agg) Validate() error {
	ok := false
	for _, m := range aggModes {
		if a.Mode == m {
			ok = true
		}
	}
	if !ok {
		names := make([]string, len(aggModes))
		for i, m := range aggModes {
			names[i] = string(m)
		}
		return fmt.Errorf("loss_agg_mode %q is unknown (known: %s)", a.Mode, strings.Join(names, ", "))
	}
	if !(a.ScaleFactor >= 0) {
		return fmt.Errorf("loss_scale_factor %v must be >= 0 (0 uses the padded width)", a.ScaleFactor)
	}
	return nil
}

// RowWeights writes into dst[b] the weight w_b = ∂L/∂ℓ[b,t] shared by every
// valid token of row b (0 for an empty row) and returns dst, grown to
// len(mask) if needed.
func (a Agg) RowWeights(dst []float64, mask [][]float64) []float64 {
	if cap(dst) < len(mask) {
		dst = make([]float64, len(mask))
	}
	dst = dst[:len(mask)]
	n, s, width := 0, 0, 0
	for b, row := range mask {
		nb := 0
		for _, m := range row {
			if m != 0 {
				nb++
			}
		}
		dst[b] = float64(nb) // row counts for now
		n += nb
		if nb > 0 {
			s++
		}
		width = max(width, len(row))
	}
	if n == 0 {
		clear(dst)
		return dst
	}
	for b := range dst {
		nb := dst[b]
		if nb == 0 {
			continue
		}
		switch a.Mode {
		case SeqMeanTokenSum:
			dst[b] = 1 / float64(s)
		case SeqMeanTokenMean:
			dst[b] = 1 / ((nb + 1e-8) * float64(s))
		case SeqMeanTokenSumNorm:
			k := a.ScaleFactor
			if k == 0 {
				k = float64(width)
			}
			dst[b] = 1 / k
		default: // TokenMean; Validate rejects anything else
			dst[b] = 1 / float64(n)
		}
	}
	return dst
}

// Loss returns L = Agg(ℓ, m) and writes w[b][t] = ∂L/∂ℓ[b,t] into dst
// (grown as needed; 0 at masked positions), returning it. lossMat and mask
// must have the same shape; values of lossMat at masked positions are ignored.
func (a Agg) Loss(dst [][]float64, lossMat, mask [][]float64) (float64, [][]float64) {
	w := a.RowWeights(nil, mask)
	dst = growLike(dst, mask)
	total := 0.0
	for b, row := range mask {
		sum := 0.0
		for t, m := range row {
			if m == 0 {
				dst[b][t] = 0
				continue
			}
			sum += lossMat[b][t]
			dst[b][t] = w[b]
		}
		total += w[b] * sum
	}
	return total, dst
}

// Weight is ∂L/∂ℓ[b,t] for a token of row b with mask value m, given the
// row weights w that RowWeights returned.
func Weight(w []float64, b int, m float64) float64 { return w[b] * m }

// Den is verl's masked_mean denominator, n + 1e-8, for n valid tokens.
func Den(n int) float64 { return float64(n) + 1e-8 }

// Count returns the number of valid (non-zero) mask entries.
func Count(mask [][]float64) int {
	n := 0
	for _, row := range mask {
		for _, m := range row {
			if m != 0 {
				n++
			}
		}
	}
	return n
}

// growLike returns dst reshaped to the row lengths of like, reusing dst's
// storage where it is long enough. Contents are not cleared.
func growLike(dst, like [][]float64) [][]float64 {
	if cap(dst) < len(like) {
		dst = append(dst[:cap(dst)], make([][]float64, len(like)-cap(dst))...)
	}
	dst = dst[:len(like)]
	for b, row := range like {
		if cap(dst[b]) < len(row) {
			dst[b] = make([]float64, len(row))
		}
		dst[b] = dst[b][:len(row)]
	}
	return dst
}
