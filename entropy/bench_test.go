package entropy

import (
	"github.com/entrolab/entrolab/pg"
	"math/rand/v2"
	"testing"
)

const benchB, benchT, benchV = 64, 256, 64

type benchBatch struct {
	logits, after [][][]float64
	mask          [][]float64
	logp, old     [][]float64
	adv, ent      [][]float64
	actions       [][]int
}

func newBenchBatch(b *testing.B) *benchBatch {
	b.Helper()
	r := rand.New(rand.NewPCG(42, 1))
	bb := &benchBatch{
		logits: randLogits(r, benchB, benchT, benchV, 2),
		after:  randLogits(r, benchB, benchT, benchV, 2),
		mask:   make([][]float64, benchB),
	}
	for i := range bb.mask {
		bb.mask[i] = make([]float64, benchT)
		for t := range bb.mask[i] {
			bb.mask[i][t] = 1 // full rows: every token counts in ns/token
		}
	}
	bb.actions = make([][]int, benchB)
	for i := range bb.actions {
		bb.actions[i] = make([]int, benchT)
		for t := range bb.actions[i] {
			bb.actions[i][t] = r.IntN(benchV)
		}
	}
	bb.logp = LogProbs(nil, bb.logits, bb.actions, 1)
	bb.old = LogProbs(nil, bb.after, bb.actions, 1)
	bb.ent = Entropies(nil, bb.after, 1)
	bb.adv = make([][]float64, benchB)
	for i := range bb.adv {
		bb.adv[i] = make([]float64, benchT)
		a := r.NormFloat64()
		for t := range bb.adv[i] {
			bb.adv[i][t] = a
		}
	}
	return bb
}

func reportPerToken(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchB*benchT), "ns/token")
}

// BenchmarkEntropy: token entropy on V=64 over 64 x 256 tokens.
func BenchmarkEntropy(b *testing.B) {
	bb := newBenchBatch(b)
	b.Run("value", func(b *testing.B) {
		dst := Entropies(nil, bb.logits, 1)
		b.ReportAllocs()
		for b.Loop() {
			Entropies(dst, bb.logits, 1)
		}
		reportPerToken(b)
	})
	b.Run("value+grad", func(b *testing.B) {
		grad := ensure3(nil, bb.logits)
		b.ReportAllocs()
		for b.Loop() {
			for i, rows := range bb.logits {
				for t, row := range rows {
					TokenEntropyGrad(grad[i][t], row, 0.8)
				}
			}
		}
		reportPerToken(b)
	})
}

// BenchmarkRegularizer: every registered regularizer on the same batch.
func BenchmarkRegularizer(b *testing.B) {
	bb := newBenchBatch(b)
	for _, name := range Names() {
		b.Run("name="+name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Name = name
			cfg.Bonus.Coef = 0.01
			reg, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			in := Input{Logits: bb.logits, Mask: bb.mask, Temperature: 0.8}
			out, _ := reg.Regularize(nil, in)
			dst := out.Grad
			b.ReportAllocs()
			for b.Loop() {
				_, _ = reg.Regularize(dst, in)
			}
			reportPerToken(b)
		})
	}
	b.Run("name=bonus_top20", func(b *testing.B) {
		reg := NewBonus(BonusConfig{Coef: 0.01, Agg: TokenMean, TopEntropyQuantile: 0.2})
		in := Input{Logits: bb.logits, Mask: bb.mask, Temperature: 0.8}
		out, _ := reg.Regularize(nil, in)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = reg.Regularize(out.Grad, in)
		}
		reportPerToken(b)
	})
}

// BenchmarkPolicyLoss: the logp-family losses on the same batch.
func BenchmarkPolicyLoss(b *testing.B) {
	bb := newBenchBatch(b)
	for _, name := range PolicyLossNames() {
		b.Run("name="+name, func(b *testing.B) {
			cfg := DefaultPolicyConfig()
			cfg.Name = name
			loss, err := NewPolicyLoss(cfg)
			if err != nil {
				b.Fatal(err)
			}
			in := pg.Input{Logp: bb.logp, OldLogp: bb.old, Adv: bb.adv, Mask: bb.mask, OldEntropy: bb.ent}
			out, _ := loss.Compute(nil, in)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = loss.Compute(out.Grad, in)
			}
			reportPerToken(b)
		})
	}
}

// BenchmarkMechanism: predicted vs actual entropy change on the batch.
func BenchmarkMechanism(b *testing.B) {
	bb := newBenchBatch(b)
	pred, act, _ := MeasureMechanism(nil, nil, bb.logits, bb.after, bb.mask, 1)
	b.ReportAllocs()
	for b.Loop() {
		MeasureMechanism(pred, act, bb.logits, bb.after, bb.mask, 1)
	}
	reportPerToken(b)
}

// BenchmarkHAPOTemperature: the per-token sampler temperature from logits.
func BenchmarkHAPOTemperature(b *testing.B) {
	bb := newBenchBatch(b)
	at, _ := NewAdaptiveTemperature(DefaultHAPOTemperatureConfig())
	if err := at.Observe(bb.ent, bb.mask); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, rows := range bb.logits {
			for _, row := range rows {
				at.FromLogits(row)
			}
		}
	}
	reportPerToken(b)
}

// BenchmarkEntropyGPT2Vocab: the token entropy and its gradient over GPT-2's
// vocabulary (V = 50257), 64 rows, per token: what a logits-based entropy
// term costs per token at GPT-2 scale, against a GPT-2-small training step
// (BENCHMARKS.md).
func BenchmarkEntropyGPT2Vocab(b *testing.B) {
	const rows, v = 64, 50257
	r := rand.New(rand.NewPCG(42, 2))
	logits := randLogits(r, 1, rows, v, 2)[0]
	per := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/token")
	}
	b.Run("value", func(b *testing.B) {
		for b.Loop() {
			for _, row := range logits {
				TokenEntropy(row, 0.8)
			}
		}
		per(b)
	})
	b.Run("value+grad", func(b *testing.B) {
		dst := make([]float64, v)
		for b.Loop() {
			for _, row := range logits {
				TokenEntropyGrad(dst, row, 0.8)
			}
		}
		per(b)
	})
}
