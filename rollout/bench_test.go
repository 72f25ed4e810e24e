package rollout

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/entrolab/entrolab/internal/benchmeter"
	"github.com/entrolab/entrolab/policy"
)

// BenchmarkSample is the peer benchmark of ../shared/bench/gpt_torch.py
// --mode sample: 16-token random prompts, 64 new tokens each (no <eos>),
// batch 1 and 64, configs S and M (position table 128, as the peer uses).
// tokens/s counts new tokens only.
func BenchmarkSample(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  policy.Config
	}{{"S", policy.ConfigS()}, {"M", policy.ConfigM()}} {
		for _, bs := range []int{1, 64} {
			cfg := c.cfg
			cfg.MaxSeqLen = 128
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, bs), func(b *testing.B) { benchSample(b, cfg, bs) })
		}
	}
}

// BenchmarkGPT2Small is BenchmarkSample on the GPT-2-small shape
// (policy.ConfigGPT2Small, 256 positions; peer: bench/gpt_torch.py --config
// G2 --mode sample). Its own name keeps -bench Sample on S and M.
func BenchmarkGPT2Small(b *testing.B) {
	for _, bs := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) { benchSample(b, policy.ConfigGPT2Small(), bs) })
	}
}

func benchSample(b *testing.B, cfg policy.Config, bs int) {
	m, err := policy.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	e := New(m.W, -1)
	r := rand.New(rand.NewPCG(1, 1))
	prompts := make([][]int32, bs)
	for i := range prompts {
		prompts[i] = make([]int32, 16)
		for j := range prompts[i] {
			prompts[i][j] = int32(r.IntN(cfg.Vocab))
		}
	}
	s := Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 64, N: 1}
	var out Batch
	e.GenerateInto(&out, prompts, s, 0) // warm-up: buffers
	b.ReportAllocs()
	seed := uint64(0)
	var steps benchmeter.Steps
	for b.Loop() {
		seed++
		steps.Time(func() {
			if err := e.GenerateInto(&out, prompts, s, seed); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(b.N*bs*64)/b.Elapsed().Seconds(), "tokens/s")
	steps.Report(b, float64(bs*64), "tokens/s")
}
