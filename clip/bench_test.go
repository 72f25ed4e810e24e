package clip

import (
	"slices"
	"testing"
)

// BenchmarkLoss runs every loss (and the KL loss with k3) on a seeded
// 64 x 256-token batch with full masks and reports ns/token; the gradient
// buffer is reused between calls, as the trainer does.
func BenchmarkLoss(b *testing.B) {
	const rows, cols = 64, 256
	bt := newBatch(42, rows, cols, 0.3)
	for i := range bt.mask {
		for j := range bt.mask[i] {
			bt.mask[i][j] = 1
			bt.logp[i][j], bt.old[i][j], bt.adv[i][j], bt.ent[i][j], bt.ref[i][j] = -1-0.1*float64(j%7), -1, float64(i%5)-2, float64(j%11)/4, -1.2
		}
	}
	losses := buildAll(b, DefaultAgg())
	names := []string{"kl/k3"}
	for _, n := range Names() {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		l := losses[name]
		b.Run(name+"/64x256", func(b *testing.B) {
			in := bt.input()
			res, _ := l.Compute(nil, in)
			dst := res.Grad
			b.ReportAllocs()
			for b.Loop() {
				res, _ = l.Compute(dst, in)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*cols), "ns/token")
		})
	}
}
