package entropy

import "fmt"

// AggMode names a verl loss aggregation (verl core_algos.agg_loss, current
// semantics). For a [B][T] matrix X with mask m:
//
//	token-mean               Σ m·X / Σ m
//	seq-mean-token-sum       (1/N_s) Σ_b Σ_t m·X
//	seq-mean-token-mean      (1/N_s) Σ_{b: Σm>0} Σ_t m·X / Σ_t m
//	seq-mean-token-sum-norm  Σ m·X / L,  L = loss_scale_factor, or T when unset
//
// N_s counts rows with at least one valid token: current verl leaves empty
// rows out (verl ≤ 0.4 averaged over all rows, giving 0 or NaN for them). T is
// the widest row of the mask. Masked means divide exactly (verl adds 1e-8).
type AggMode string

// The aggregation modes.
const (
	TokenMean           AggMode = "token-mean"
	SeqMeanTokenSum     AggMode = "seq-mean-token-sum"
	SeqMeanTokenMean    AggMode = "seq-mean-token-mean"
	SeqMeanTokenSumNorm AggMode = "seq-mean-token-sum-norm"
)

// AggModes lists every aggregation mode.
var AggModes = []AggMode{TokenMean, SeqMeanTokenSum, SeqMeanTokenMean, SeqMeanTokenSumNorm}

func (m AggMode) validate(key string) error {
	switch m {
	case TokenMean, SeqMeanTokenSum, SeqMeanTokenMean, SeqMeanTokenSumNorm:
		return nil
	}
	return fmt.Errorf("entropy: %s %q is not an aggregation mode (known: token-mean, seq-mean-token-sum, seq-mean-token-mean, seq-mean-token-sum-norm)", key, string(m))
}

// aggregator holds the per-row weights W[b][t] = ∂Agg/∂X[b][t] for one mask:
// every mode is linear in X, so Agg(X) = Σ W·X.
type aggregator struct {
	rowW []float64 // weight of each valid token of row b (0 for rows with none)
}

// newAggregator computes the weights of mode for mask; scale is
// loss_scale_factor (≤ 0 means T).
func newAggregator(mode AggMode, mask [][]float64, scale float64) aggregator {
	a := aggregator{rowW: make([]float64, len(mask))}
	a.reset(mode, mask, scale)
	return a
}

func (a *aggregator) reset(mode AggMode, mask [][]float64, scale float64) {
	if cap(a.rowW) < len(mask) {
		a.rowW = make([]float64, len(mask))
	}
	a.rowW = a.rowW[:len(mask)]
	var total, rows float64
	width := 0
	for b, row := range mask {
		n := 0.0
		for _, m := range row {
			n += m
		}
		a.rowW[b] = n // row count for now
		total += n
		if n > 0 {
			rows++
		}
		width = max(width, len(row))
	}
	for b, n := range a.rowW {
		w := 0.0
		switch mode {
		case TokenMean:
			if total > 0 {
				w = 1 / total
			}
		case SeqMeanTokenSum:
			if rows > 0 && n > 0 {
				w = 1 / rows
			}
		case SeqMeanTokenMean:
			if rows > 0 && n > 0 {
				w = 1 / (rows * n)
			}
		case SeqMeanTokenSumNorm:
			l := scale
			if l <= 0 {
				l = float64(width)
			}
			if l > 0 {
				w = 1 / l
			}
		default:
			panic(fmt.Sprintf("entropy: unknown aggregation mode %q", string(mode)))
		}
		a.rowW[b] = w
	}
}

// weight is W[b][t] for a token with mask value m.
func (a *aggregator) weight(b int, m float64) float64 { return a.rowW[b] * m }

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

func countValid(mask [][]float64) float64 {
	n := 0.0
	for _, row := range mask {
		for _, m := range row {
			n += m
		}
	}
	return n
}
