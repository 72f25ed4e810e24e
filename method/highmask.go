package method

import (
	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/metric"
)

// newHighEntropyMask keeps only the top-ρ highest-entropy tokens of the
// batch in the loss ("Beyond the 80/20 rule"); ρ = 1 builds nothing.
func newHighEntropyMask(c Config, _ *Recipe) (Part, error) {
	if c.TopEntropyQuantile >= 1 {
		return nil, nil
	}
	return &highMask{part: part{"top_entropy_mask", AtSelectTokens}, mask: entropy.HighEntropyMask{Rho: c.TopEntropyQuantile}}, nil
}

type highMask struct {
	part
	mask entropy.HighEntropyMask
}

func (h *highMask) SelectTokens(batch []*Sample, m map[string]float64) {
	k, thr, kept := h.mask.Apply(nil, Rows(batch, func(s *Sample) []float64 { return s.OldEnt }), Masks(batch))
	for i, s := range batch {
		copy(s.Mask, k[i])
	}
	m[metric.HighMaskThr] = thr
	m[metric.HighMaskKept] = float64(kept)
}
