package entropy

import (
	"fmt"

	"github.com/entrolab/entrolab/masked"
)

// AggMode names a verl loss aggregation; the weights come from
// masked.Agg, the one implementation the policy losses share (spec §2.2):
//
//	token-mean               Σ m·X / N
//	seq-mean-token-sum       (1/S) Σ_b Σ_t m·X
//	seq-mean-token-mean      (1/S) Σ_{b: n_b>0} Σ_t m·X / (n_b + 1e-8)
//	seq-mean-token-sum-norm  Σ m·X / K,  K = loss_scale_factor, or T when unset
//
// S counts rows with at least one valid token (current verl); T is the
// widest row of the mask. The mask is 0/1.
type AggMode = masked.AggMode

// The aggregation modes.
const (
	TokenMean           = masked.TokenMean
	SeqMeanTokenSum     = masked.SeqMeanTokenSum
	SeqMeanTokenMean    = masked.SeqMeanTokenMean
	SeqMeanTokenSumNorm = masked.SeqMeanTokenSumNorm
)

// AggModes lists every aggregation mode.
var AggModes = masked.AggModes()

// validateAgg names key when m is not an aggregation mode.
func validateAgg(key string, m AggMode) error {
	if err := (masked.Agg{Mode: m}).Validate(); err != nil {
		return fmt.Errorf("entropy: %s: %w", key, err)
	}
	return nil
}

// aggregator holds the per-row weights W[b][t] = ∂Agg/∂X[b][t] for one mask:
// every mode is linear in X, so Agg(X) = Σ W·X.
type aggregator struct {
	rowW []float64 // weight of each valid token of row b (0 for rows with none)
}

// newAggregator computes the weights of mode for mask; scale is
// loss_scale_factor (≤ 0 means T).
func newAggregator(mode AggMode, mask [][]float64, scale float64) aggregator {
	var a aggregator
	a.reset(mode, mask, scale)
	return a
}

func (a *aggregator) reset(mode AggMode, mask [][]float64, scale float64) {
	a.rowW = masked.Agg{Mode: mode, ScaleFactor: max(scale, 0)}.RowWeights(a.rowW, mask)
}

// weight is W[b][t] for a token with mask value m.
func (a *aggregator) weight(b int, m float64) float64 { return masked.Weight(a.rowW, b, m) }

// Agg aggregates x under mask with mode; scale is loss_scale_factor (≤ 0: T).
// It panics if x and mask differ in shape.
func Agg(x, mask [][]float64, mode AggMode, scale float64) float64 {
	a := newAggregator(mode, mask, scale)
	return a.apply(x, mask)
}

func (a *aggregator) apply(x, mask [][]float64) float64 {
	checkShape2("x", x, mask)
	s := 0.0
	for b, row := range mask {
		w := a.rowW[b]
		if w == 0 {
			continue
		}
		for t, m := range row {
			if m != 0 {
				s += w * m * x[b][t]
			}
		}
	}
	return s
}

// AggWeights writes W[b][t] = ∂Agg/∂X[b][t] into dst (shaped like mask) and
// returns it; dst is allocated when nil or short.
func AggWeights(dst, mask [][]float64, mode AggMode, scale float64) [][]float64 {
	a := newAggregator(mode, mask, scale)
	dst = ensure2(dst, mask)
	for b, row := range mask {
		for t, m := range row {
			dst[b][t] = a.weight(b, m)
		}
	}
	return dst
}

// maskedMean is Σ m·x / Σ m (0 when no token is valid).
func maskedMean(x, mask [][]float64) float64 {
	var s, n float64
	for b, row := range mask {
		for t, m := range row {
			if m != 0 {
				s += m * x[b][t]
				n += m
			}
		}
	}
	if n == 0 {
		return 0
	}
	return s / n
}

func countValid(mask [][]float64) float64 { return float64(masked.Count(mask)) }
