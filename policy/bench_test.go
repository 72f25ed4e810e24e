package policy

import (
	"math/rand/v2"
	"testing"

	"github.com/entrolab/entrolab/internal/benchmeter"
)

type benchShape struct {
	name string
	cfg  Config
	b, t int
}

var benchShapes = []benchShape{
	{"S", ConfigS(), 64, 64},
	{"M", ConfigM(), 32, 128},
}

// BenchmarkTrainStep is one forward + backward + AdamW step on a full batch
// of random tokens, cross-entropy on every position.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchTrain(b, s) })
	}
}

// BenchmarkGPT2Small is the GPT-2-small shape (ConfigGPT2Small: V50257
// D768 L12 H12, T 256, batch 8 = 2048 tokens a step; peer: bench/gpt_torch.py
// --config G2). It has its own name so that -bench TrainStep or Forward
// keeps running only S and M.
func BenchmarkGPT2Small(b *testing.B) {
	s := benchShape{"G2", ConfigGPT2Small(), 8, 256}
	b.Run("train", func(b *testing.B) { benchTrain(b, s) })
	b.Run("forward", func(b *testing.B) { benchForward(b, s) })
}

func benchTrain(b *testing.B, s benchShape) {
	m, err := New(s.cfg)
	if err != nil {
		b.Fatal(err)
	}
	opt := NewAdamW(DefaultOptimConfig(), m.W)
	r := rand.New(rand.NewPCG(1, 1))
	bt := NewBatch(s.b, s.t)
	for i := 0; i < s.b; i++ {
		seq := make([]int32, s.t+1)
		for j := range seq {
			seq[j] = int32(r.IntN(s.cfg.Vocab))
		}
		bt.SetRow(i, seq, 1, 0)
	}
	obj := lossObjective(nil)
	step := func() {
		if _, _, err := m.Accumulate(bt, 1, obj); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Step(opt); err != nil {
			b.Fatal(err)
		}
	}
	step() // build the graph, untimed
	b.ReportAllocs()
	b.ResetTimer()
	var steps benchmeter.Steps
	for b.Loop() {
		steps.Time(step)
	}
	b.ReportMetric(float64(b.N*s.b*s.t)/b.Elapsed().Seconds(), "tokens/s")
	steps.Report(b, float64(s.b*s.t), "tokens/s")
}

// BenchmarkForward is the forward-only log-prob path.
func BenchmarkForward(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) { benchForward(b, s) })
	}
}

func benchForward(b *testing.B, s benchShape) {
	m, _ := New(s.cfg)
	r := rand.New(rand.NewPCG(1, 1))
	bt := tinyBatch(r, s.b, s.t, s.cfg.Vocab)
	n := s.b * s.t
	lp, ent := make([]float64, n), make([]float64, n)
	m.LogProbs(bt, 1, lp, ent, nil)
	var steps benchmeter.Steps
	for b.Loop() {
		steps.Time(func() {
			if err := m.LogProbs(bt, 1, lp, ent, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tokens/s")
	steps.Report(b, float64(n), "tokens/s")
}
