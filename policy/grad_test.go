package policy

import (
	"fmt"
	"github.com/entrolab/entrolab/internal/kern"
	"math"
	"math/rand/v2"
	"testing"
)

// The gradient checks compare each backward kernel, and the whole graph, with
// central finite differences of the forward in float64 accumulation. Inputs
// are float32, so steps are 1e-2..1e-3 and the tolerance is relative 2e-2 on
// entries that matter (|g| > 1e-3 of the largest).

func randSlice(r *rand.Rand, n int, s float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * s)
	}
	return x
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkFD perturbs each x[i] and compares (f(x+h)-f(x-h))/2h with want[i].
func checkFD(t *testing.T, name string, x []float32, want []float32, h float64, f func() float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range x {
		old := x[i]
		x[i] = old + float32(h)
		fp := f()
		x[i] = old - float32(h)
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * h)
		diff := math.Abs(num - float64(want[i]))
		if diff > 2e-2*math.Max(math.Abs(num), 1e-2*scale)+1e-4 {
			t.Errorf("%s: d/dx[%d] analytic %v, finite difference %v", name, i, want[i], num)
			return
		}
	}
}

func TestLayerNormGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n, d := 3, 8
	x, g, b := randSlice(r, n*d, 1), randSlice(r, d, 1), randSlice(r, d, 1)
	w := randSlice(r, n*d, 1)
	y := make([]float32, n*d)
	mean, rstd := make([]float32, n), make([]float32, n)
	f := func() float64 { kern.LayerNorm(y, x, g, b, mean, rstd, n, d); return dot64(y, w) }
	f()
	dx, dg, db := make([]float32, n*d), make([]float32, d), make([]float32, d)
	kern.LayerNormBackward(dx, dg, db, w, x, g, mean, rstd, n, d)
	checkFD(t, "layernorm dx", x, dx, 1e-2, f)
	checkFD(t, "layernorm dg", g, dg, 1e-2, f)
	checkFD(t, "layernorm db", b, db, 1e-2, f)
}

func TestGELUGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randSlice(r, 64, 2)
	w := randSlice(r, 64, 1)
	y, th := make([]float32, 64), make([]float32, 64)
	f := func() float64 { kern.GELU(y, th, x); return dot64(y, w) }
	f()
	dx := make([]float32, 64)
	kern.GELUBackward(dx, w, th, x)
	checkFD(t, "gelu dx", x, dx, 1e-2, f)
	for _, v := range []float32{-20, -5, -1, -1e-5, 0, 1e-5, 0.3, 3, 20} {
		want := 0.5 * float64(v) * (1 + math.Tanh(kern.GeluC*(float64(v)+kern.GeluA*float64(v)*float64(v)*float64(v))))
		kern.GELU(y[:1], th[:1], []float32{v})
		if math.Abs(float64(y[0])-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("kern.GELU(%v) = %v, want %v", v, y[0], want)
		}
	}
}

func TestExpAndTanh(t *testing.T) {
	for x := -30.0; x <= 0; x += 0.0137 {
		got, want := float64(kern.Exp32(float32(x))), math.Exp(float64(float32(x)))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("kern.Exp32(%v) = %v, want %v", x, got, want)
		}
	}
	for x := -12.0; x <= 12; x += 0.0071 {
		got, want := float64(kern.Tanh32(float32(x))), math.Tanh(float64(float32(x)))
		if math.Abs(got-want) > 3e-7 {
			t.Fatalf("kern.Tanh32(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestAttentionGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	tt, d, nh := 5, 8, 2
	qkv := randSlice(r, tt*3*d, 1)
	w := randSlice(r, tt*d, 1)
	out, p := make([]float32, tt*d), make([]float32, nh*tt*tt)
	f := func() float64 { kern.Attention(out, p, qkv, tt, d, nh); return dot64(out, w) }
	f()
	dqkv, dp := make([]float32, tt*3*d), make([]float32, tt*tt)
	kern.AttentionBackward(dqkv, w, p, qkv, dp, tt, d, nh)
	checkFD(t, "attention dqkv", qkv, dqkv, 1e-2, f)
	// causality: changing the last position leaves earlier outputs alone
	f()
	before := append([]float32(nil), out[:(tt-1)*d]...)
	for j := 0; j < 3*d; j++ {
		qkv[(tt-1)*3*d+j] += 1
	}
	f()
	for i, v := range before {
		if out[i] != v {
			t.Fatalf("attention output %d changed when a later position did", i)
		}
	}
}

// lossObjective is cross-entropy on the targets plus a fixed linear term on
// the logits, so both gradient paths of the head are exercised.
func lossObjective(coef []float32) Objective {
	return func(in *HeadInput, g *HeadGrad) (float64, map[string]float64, error) {
		var loss float64
		cnt := 0
		for _, y := range in.Targets {
			if y >= 0 {
				cnt++
			}
		}
		for i, y := range in.Targets {
			if y >= 0 {
				loss -= in.Logp[i] / float64(cnt)
				g.Logp[i] = -1 / float64(cnt)
			}
		}
		if coef != nil {
			loss += dot64(in.Logits, coef)
			copy(g.Logits, coef)
		}
		return loss, map[string]float64{"loss": loss}, nil
	}
}

func tinyConfig(untied bool) Config {
	return Config{Vocab: 7, DModel: 8, NLayers: 2, NHeads: 2, MaxSeqLen: 6, InitStd: 0.3, Seed: 3, Untied: untied}
}

func tinyBatch(r *rand.Rand, b, t, v int) *Batch {
	bt := NewBatch(b, t)
	for i := 0; i < b; i++ {
		n := t + 1 - i%2 // ragged: every other row is one shorter
		seq := make([]int32, n)
		for j := range seq {
			seq[j] = int32(r.IntN(v))
		}
		if err := bt.SetRow(i, seq, 1+i%2, 0); err != nil {
			panic(err)
		}
	}
	return bt
}

func TestModelGradient(t *testing.T) {
	for _, untied := range []bool{false, true} {
		for _, reps := range []int{1, 2} {
			t.Run(fmt.Sprintf("untied=%v/replicas=%d", untied, reps), func(t *testing.T) {
				cfg := tinyConfig(untied)
				m, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				m.Replicas = reps
				r := rand.New(rand.NewPCG(5, 5))
				b, tt := 3, 5
				bt := tinyBatch(r, b, tt, cfg.Vocab)
				coef := randSlice(r, b*tt*cfg.Vocab, 0.05)
				const temp = 0.7
				obj := lossObjective(coef)
				if _, _, err := m.Accumulate(bt, temp, obj); err != nil {
					t.Fatal(err)
				}
				n := b * tt
				logp, ent, logits := make([]float64, n), make([]float64, n), make([]float32, n*cfg.Vocab)
				f := func() float64 {
					if err := m.LogProbs(bt, temp, logp, ent, logits); err != nil {
						t.Fatal(err)
					}
					in := &HeadInput{B: b, T: tt, V: cfg.Vocab, Temperature: temp, Targets: bt.Targets, Logits: logits, Logp: logp, Entropy: ent}
					g := &HeadGrad{Logp: make([]float64, n), Logits: make([]float32, len(logits))}
					l, _, _ := obj(in, g)
					return l
				}
				for i, p := range m.W.List {
					// a few entries of every tensor
					idx := []int{0, len(p.Data) / 2, len(p.Data) - 1}
					for _, j := range idx {
						old := p.Data[j]
						h := float32(1e-2)
						p.Data[j] = old + h
						fp := f()
						p.Data[j] = old - h
						fm := f()
						p.Data[j] = old
						num := (fp - fm) / (2 * float64(h))
						got := float64(m.Grads[i][j])
						if math.Abs(num-got) > 2e-2*math.Abs(num)+2e-4 {
							t.Errorf("%s[%d]: gradient %v, finite difference %v", p.Name, j, got, num)
						}
					}
				}
			})
		}
	}
}
