package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/entrolab/entrolab/internal/oblas"
)

func blasName() string { return oblas.Name() }

// TestGradsBitIdentical pins the exact bits of the accumulated gradients,
// logits gradient objective included (a loss on log-probs and one on raw
// logits), after two micro-batches with two replicas, tied and untied, on
// a vocabulary small enough that tokens repeat (the embedding's gradient
// sums rows): the pins were made with main's code before issue 16 item 5's
// memory work (shared backward buffers, in-place logits gradient, compact
// embedding gradient), which must not change a bit. OpenBLAS and pure-Go
// BLAS round GEMMs differently, so each has its pin.
func TestGradsBitIdentical(t *testing.T) {
	for _, c := range []struct {
		name         string
		untied, logp bool // logp: an objective on log-probs only (no logits gradient)
	}{{"tied", false, false}, {"untied", true, false}, {"tied-logp", false, true}, {"untied-logp", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Vocab: 23, DModel: 32, NLayers: 2, NHeads: 4, MaxSeqLen: 24, InitStd: 0.02, Seed: 7, Untied: c.untied}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m.Replicas = 2
			r := rand.New(rand.NewPCG(9, 9))
			both := func(in *HeadInput, g *HeadGrad) (float64, map[string]float64, error) {
				loss, _, err := lossObjective(nil)(in, g)
				for i := range g.Logits { // an entropy-bonus-like term on raw logits
					if !c.logp {
						g.Logits[i] = 1e-3 * float32(math.Sin(float64(i)))
					}
				}
				return loss, nil, err
			}
			for k := 0; k < 2; k++ {
				bt := tinyBatch(r, 5, 20, cfg.Vocab)
				if _, _, err := m.Accumulate(bt, 0.9, both); err != nil {
					t.Fatal(err)
				}
			}
			for _, g := range m.train {
				if g.head.inPlace != c.logp {
					t.Fatalf("in-place logits gradient = %v with a log-prob-only objective = %v", g.head.inPlace, c.logp)
				}
			}
			h := sha256.New()
			var b [4]byte
			for _, g := range m.Grads {
				for _, x := range g {
					binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
					h.Write(b[:])
				}
			}
			got := hex.EncodeToString(h.Sum(nil))[:16]
			t.Logf("%s %s: %s", blasName(), c.name, got)
			if want, ok := gradPins[blasName()+"/"+c.name]; ok && got != want {
				t.Fatalf("gradients changed: hash %s, pinned %s", got, want)
			} else if !ok {
				t.Skipf("no pin for BLAS %q", blasName())
			}
		})
	}
}

var gradPins = map[string]string{
	"OpenBLAS (Haswell kernels)/tied":   "e2e1b10d3e6db01d",
	"OpenBLAS (Haswell kernels)/untied": "9c0e1d45b8f3782a",
	"gonum (pure Go)/tied":              "4596a10eb7e563a2",
	"gonum (pure Go)/untied":            "8939fdbd7097d503",

	"OpenBLAS (Haswell kernels)/tied-logp":   "3af307bc97a1d36c",
	"OpenBLAS (Haswell kernels)/untied-logp": "acb526bb96f53f43",
	"gonum (pure Go)/tied-logp":              "29132b0fa7b15250",
	"gonum (pure Go)/untied-logp":            "1697ee573f4d72d8",
}

// TestGraphEvictionSameResults: with a budget that holds one graph, a model
// alternating between batch shapes drops and rebuilds graphs, and computes
// exactly what a model keeping them all computes.
func TestGraphEvictionSameResults(t *testing.T) {
	cfg := Config{Vocab: 23, DModel: 32, NLayers: 2, NHeads: 4, MaxSeqLen: 24, InitStd: 0.02, Seed: 7}
	run := func(budget int64) (*Model, []float64) {
		old := GraphBudget
		GraphBudget = budget
		defer func() { GraphBudget = old }()
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		var lps []float64
		for k := 0; k < 6; k++ {
			bt := tinyBatch(r, 3+k%2, 8+8*(k%3), cfg.Vocab)
			if _, _, err := m.Accumulate(bt, 1, lossObjective(nil)); err != nil {
				t.Fatal(err)
			}
			lp, ent := make([]float64, bt.B*bt.T), make([]float64, bt.B*bt.T)
			if err := m.LogProbs(bt, 1, lp, ent, nil); err != nil {
				t.Fatal(err)
			}
			lps = append(append(lps, lp...), ent...)
			if m.graphBytes > budget && len(m.train)+len(m.fwd) > 1 {
				t.Fatalf("cached %d bytes in %d graphs, budget %d", m.graphBytes, len(m.train)+len(m.fwd), budget)
			}
		}
		return m, lps
	}
	one := graphEstimate(cfg, 4, 24, 2, true)
	a, la := run(1 << 40)
	b, lb := run(one)
	if len(a.train) < 2 || len(b.train)+len(b.fwd) > 1 {
		t.Fatalf("unlimited cache kept %d training graphs, budgeted %d+%d", len(a.train), len(b.train), len(b.fwd))
	}
	for i := range a.Grads {
		for j := range a.Grads[i] {
			if math.Float32bits(a.Grads[i][j]) != math.Float32bits(b.Grads[i][j]) {
				t.Fatalf("gradient %s[%d]: %v with eviction, %v without", a.W.List[i].Name, j, b.Grads[i][j], a.Grads[i][j])
			}
		}
	}
	for i := range la {
		if la[i] != lb[i] {
			t.Fatalf("log-prob/entropy %d: %v with eviction, %v without", i, lb[i], la[i])
		}
	}
}
