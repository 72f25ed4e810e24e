package rollout

import (
	"fmt"
	"math/rand/v2"
	"testing"

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
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, bs), func(b *testing.B) {
				cfg := c.cfg
				cfg.MaxSeqLen = 128
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
				for b.Loop() {
					seed++
					if err := e.GenerateInto(&out, prompts, s, seed); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*bs*64)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
