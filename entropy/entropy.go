package entropy

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/internal/kern"
)

// TokenEntropy is the entropy (nats) of π = softmax(z/τ) for one logits row z
// (length V):
//
//	H = −Σ_v π_v log π_v = log S − (Σ_v e^{d_v} d_v)/S,  d_v = (z_v − max z)/τ, S = Σ_v e^{d_v}
//
// Terms with π_v = 0 (including z_v = −Inf, a masked vocabulary entry) count
// as 0, so finite logits of any size give a finite H in [0, log V]. τ must be
// positive. verl torch_functional.entropy_from_logits.
func TokenEntropy(row []float64, tau float64) float64 {
	zmax := rowMax(row)
	inv := 1 / tau
	if len(row) <= 256 && !math.IsInf(zmax, 0) {
		var buf [256]float64
		s, a := kern.ExpRow64(buf[:len(row)], row, zmax, inv)
		return math.Log(s) - a/s
	}
	// a large vocabulary (or an infinite logit): math.Exp's exact values,
	// four at a time (kern.ExpExact), summed in order as before
	var s, a float64
	var db, eb [256]float64
	for i := 0; i < len(row); i += len(db) {
		rc := row[i:min(i+len(db), len(row))]
		d, e := db[:len(rc)], eb[:len(rc)]
		for j, z := range rc {
			d[j] = (z - zmax) * inv
		}
		kern.ExpExact(e, d)
		for j, ej := range e {
			if ej == 0 {
				continue
			}
			s += ej
			a += ej * d[j]
		}
	}
	return math.Log(s) - a/s
}

// TokenEntropyGrad writes ∂H/∂z into dst (length V) and returns H, for
// π = softmax(z/τ):
//
//	∂H/∂z_v = −(1/τ) · π_v · (log π_v + H)
//
// The gradient sums to zero (logits are shift-invariant); entries with π_v = 0
// get 0. It panics if dst is shorter than row.
func TokenEntropyGrad(dst, row []float64, tau float64) float64 {
	dst = dst[:len(row)]
	zmax := rowMax(row)
	inv := 1 / tau
	var s, a float64
	if !math.IsInf(zmax, 0) {
		s, a = kern.ExpRow64(dst, row, zmax, inv)
	} else {
		for v, z := range row {
			d := (z - zmax) * inv
			e := math.Exp(d)
			dst[v] = e
			if e == 0 {
				continue
			}
			s += e
			a += e * d
		}
	}
	logS := math.Log(s)
	h := logS - a/s
	invS := 1 / s
	for v, z := range row {
		e := dst[v]
		if e == 0 {
			dst[v] = 0
			continue
		}
		p := e * invS
		lp := (z-zmax)*inv - logS
		dst[v] = -inv * p * (lp + h)
	}
	return h
}

// LogProb is log softmax(z/τ)[a] for one logits row.
func LogProb(row []float64, a int, tau float64) float64 {
	zmax := rowMax(row)
	inv := 1 / tau
	s := 0.0
	var db [256]float64
	for i := 0; i < len(row); i += len(db) { // math.Exp's values, in order (kern.ExpExact)
		rc := row[i:min(i+len(db), len(row))]
		d := db[:len(rc)]
		for j, z := range rc {
			d[j] = (z - zmax) * inv
		}
		kern.ExpExact(d, d)
		for _, e := range d {
			s += e
		}
	}
	return (row[a]-zmax)*inv - math.Log(s)
}

// Entropies writes H(softmax(logits[b][t]/τ)) for EVERY position, padded ones
// included, into dst [B][T] and returns it (allocated when nil or short).
func Entropies(dst [][]float64, logits [][][]float64, tau float64) [][]float64 {
	dst = ensure2(dst, logits)
	for b, rows := range logits {
		for t, row := range rows {
			dst[b][t] = TokenEntropy(row, tau)
		}
	}
	return dst
}

// LogProbs writes log π(actions[b][t]) at temperature τ for every position
// into dst [B][T] and returns it (allocated when nil or short).
func LogProbs(dst [][]float64, logits [][][]float64, actions [][]int, tau float64) [][]float64 {
	dst = ensure2(dst, logits)
	for b, rows := range logits {
		for t, row := range rows {
			dst[b][t] = LogProb(row, actions[b][t], tau)
		}
	}
	return dst
}

// BackpropLogp chains a gradient w.r.t. per-token log-probs into one w.r.t.
// the raw logits, writing dst [B][T][V] (allocated when nil or short):
//
//	∂L/∂z[b,t,v] = g[b,t] · (1/τ) · (1[v = a_t] − π_v),  π = softmax(z/τ)
//
// Positions with g = 0 (padding included) get a zero row. It is how the
// logp-family losses here (STEER, AEPO) are checked against logits gradients.
func BackpropLogp(dst [][][]float64, gradLogp [][]float64, logits [][][]float64, actions [][]int, tau float64) [][][]float64 {
	dst = ensure3(dst, logits)
	inv := 1 / tau
	for b, rows := range logits {
		for t, row := range rows {
			out := dst[b][t]
			g := gradLogp[b][t]
			if g == 0 {
				clear(out)
				continue
			}
			zmax := rowMax(row)
			s := 0.0
			for v, z := range row {
				e := math.Exp((z - zmax) * inv)
				out[v] = e
				s += e
			}
			k := -g * inv / s
			for v := range out {
				out[v] *= k
			}
			out[actions[b][t]] += g * inv
		}
	}
	return dst
}

// SampledNLL is the sampled-token entropy estimate −token-mean(logp) over
// valid tokens (EasyR1's actor/entropy_loss, which AEPO's controller reads).
// It is not the full-vocabulary entropy.
func SampledNLL(logp, mask [][]float64) float64 { return -maskedMean(logp, mask) }

func rowMax(row []float64) float64 {
	m := math.Inf(-1)
	for _, z := range row {
		if z > m {
			m = z
		}
	}
	return m
}

// ensure2 returns dst shaped like like ([b][t]), reusing its storage.
func ensure2[E any](dst [][]float64, like [][]E) [][]float64 {
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

// ensure3 returns dst shaped like like ([b][t][v]), reusing its storage.
func ensure3(dst, like [][][]float64) [][][]float64 {
	if cap(dst) < len(like) {
		dst = append(dst[:cap(dst)], make([][][]float64, len(like)-cap(dst))...)
	}
	dst = dst[:len(like)]
	for b, rows := range like {
		dst[b] = ensure2(dst[b], rows)
	}
	return dst
}

// checkShape2 panics (a programmer mistake) when x is not shaped like mask.
func checkShape2[E any](name string, x [][]float64, mask [][]E) {
	if len(x) != len(mask) {
		panic(fmt.Sprintf("entropy: %s has %d rows, mask has %d", name, len(x), len(mask)))
	}
	for b := range mask {
		if len(x[b]) < len(mask[b]) {
			panic(fmt.Sprintf("entropy: %s row %d has %d positions, mask has %d", name, b, len(x[b]), len(mask[b])))
		}
	}
}

// checkLogits panics when logits do not cover mask.
func checkLogits(logits [][][]float64, mask [][]float64) {
	if len(logits) != len(mask) {
		panic(fmt.Sprintf("entropy: logits have %d rows, mask has %d", len(logits), len(mask)))
	}
	for b := range mask {
		if len(logits[b]) < len(mask[b]) {
			panic(fmt.Sprintf("entropy: logits row %d has %d positions, mask has %d", b, len(logits[b]), len(mask[b])))
		}
	}
}
