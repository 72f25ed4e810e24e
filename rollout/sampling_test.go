package rollout

import (
	"math"
	"math/rand/v2"
	"testing"
)

// drawInsertion is draw's truncation as it was before large vocabularies
// got a pdqsort: the reference for the sorted order (ties by index).
func drawInsertion(z []float32, temp float64, s *Sampling, u float64) (int, float64) {
	v := len(z)
	small := &sampler{p: make([]float64, v), idx: make([]int, v)}
	p := small.p
	inv := 1 / temp
	mx := math.Inf(-1)
	for _, x := range z {
		mx = math.Max(mx, float64(x)*inv)
	}
	var sum float64
	for j, x := range z {
		p[j] = math.Exp(float64(x)*inv - mx)
		sum += p[j]
	}
	for j := range p {
		p[j] /= sum
	}
	idx := small.idx
	for j := range idx {
		idx[j] = j
	}
	for a := 1; a < len(idx); a++ {
		for b := a; b > 0 && (p[idx[b]] > p[idx[b-1]] || (p[idx[b]] == p[idx[b-1]] && idx[b] < idx[b-1])); b-- {
			idx[b], idx[b-1] = idx[b-1], idx[b]
		}
	}
	keep := len(idx)
	if s.TopK > 0 && s.TopK < keep {
		keep = s.TopK
	}
	if s.TopP < 1 {
		var c float64
		for r := 0; r < keep; r++ {
			c += p[idx[r]]
			if c >= s.TopP {
				keep = r + 1
				break
			}
		}
	}
	for _, j := range idx[keep:] {
		p[j] = 0
	}
	sum = 0
	for _, x := range p {
		sum += x
	}
	for j := range p {
		p[j] /= sum
	}
	var c float64
	last := 0
	for j, x := range p {
		if x == 0 {
			continue
		}
		last = j
		c += x
		if u < c {
			return j, math.Log(x)
		}
	}
	return last, math.Log(p[last])
}

// TestLargeVocabTruncationMatchesInsertionSort: above sortSmall entries the
// top-k/top-p order comes from pdqsort; it must pick exactly the tokens and
// log-probs the insertion sort picked (logits with many exact ties).
func TestLargeVocabTruncationMatchesInsertionSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const v = 3000
	sm := newSampler(v)
	z := make([]float32, v)
	for trial := 0; trial < 6; trial++ {
		for i := range z {
			z[i] = float32(r.IntN(40)) / 8 // many equal logits
		}
		for _, s := range []Sampling{{TopK: 50, TopP: 1}, {TopP: 0.9}, {TopK: 700, TopP: 0.5}} {
			for k := 0; k < 20; k++ {
				u := r.Float64()
				tok, lp := sm.draw(z, 0.9, &s, u)
				wt, wl := drawInsertion(z, 0.9, &s, u)
				if tok != wt || lp != wl {
					t.Fatalf("%+v u=%v: draw = %d %v, insertion sort = %d %v", s, u, tok, lp, wt, wl)
				}
			}
		}
	}
}

// TestBuiltinMaxIsMathMax: draw's row maximum uses the builtin max, which
// follows math.Max's rules except that NaN beats +Inf (draw then redoes the
// row with math.Max); check the rest bit for bit.
func TestBuiltinMaxIsMathMax(t *testing.T) {
	vals := []float64{math.Inf(-1), math.Inf(1), math.NaN(), 0, math.Copysign(0, -1), 1, -1, 1e-300, -5e-324}
	for _, a := range vals {
		for _, b := range vals {
			got, want := max(a, b), math.Max(a, b)
			if math.IsNaN(got) {
				if !math.IsNaN(a) && !math.IsNaN(b) {
					t.Errorf("max(%v, %v) = NaN", a, b)
				}
				continue
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("max(%v, %v) = %v, math.Max = %v", a, b, got, want)
			}
		}
	}
}
