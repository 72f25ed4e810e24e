package advantage

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchInput is a seeded batch of B responses of width T in groups of g:
// 0/1 rewards, lengths uniform in [T/4, T], token rewards with the score on
// the last valid token.
func benchInput(B, T, g int) Input {
	rng := rand.New(rand.NewPCG(7, 11))
	in := Input{
		Rewards:      make([]float64, B),
		RefRewards:   make([]float64, B),
		Group:        make([]int, B),
		Mask:         make([][]float64, B),
		TokenRewards: make([][]float64, B),
	}
	for b := range B {
		in.Group[b] = b / g
		in.Rewards[b] = float64(rng.IntN(2))
		in.RefRewards[b] = float64(rng.IntN(2))
		in.Mask[b] = make([]float64, T)
		n := T/4 + rng.IntN(T-T/4+1)
		for t := range n {
			in.Mask[b][t] = 1
		}
	}
	in.TokenRewards = Alloc(in.Mask)
	if err := OutcomeTokenRewards(in.TokenRewards, in.Rewards, in.Mask); err != nil {
		panic(err)
	}
	return in
}

func BenchmarkEstimate(b *testing.B) {
	const B, T, G = 64, 256, 8
	in := benchInput(B, T, G)
	for _, name := range Names() {
		b.Run(fmt.Sprintf("name=%s/B=%d/T=%d", name, B, T), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Name = name
			est, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			dst := Alloc(in.Mask)
			b.ReportAllocs()
			for b.Loop() {
				_ = est.Estimate(dst, in)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*B*T), "ns/token")
		})
	}
}
