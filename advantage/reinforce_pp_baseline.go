package advantage

// ReinforcePPBaseline is REINFORCE++-baseline: the reward minus its group
// mean, broadcast to the tokens and whitened over every valid token of the
// batch (a token-weighted, batch-global whitening).
//
//	ã_b = R_b − μ_k          (μ = 0 for a group of one)
//	A = masked_whiten(ã_b·m, m) · m
//
// masked_whiten is as in [ReinforcePP]; a batch with N = Σ m ≤ 1 gets zeros
// where verl raises an error.
//
// Hu (2025), REINFORCE++, arXiv 2501.03262; verl
// compute_reinforce_plus_plus_baseline_outcome_advantage
// (volcengine/verl @ b178a3c).
type ReinforcePPBaseline struct {
	s   groupStats
	seq []float64
}

var _ Estimator = (*ReinforcePPBaseline)(nil)

// NewReinforcePPBaseline returns a REINFORCE++-baseline estimator; it has
// no settings.
func NewReinforcePPBaseline() *ReinforcePPBaseline { return &ReinforcePPBaseline{} }

func newReinforcePPBaseline(Config) (Estimator, error) { return NewReinforcePPBaseline(), nil }

// Needs reports the group ids.
func (r *ReinforcePPBaseline) Needs() Needs { return Needs{Group: true} }

// Estimate writes the whitened, baselined rewards into dst.
func (r *ReinforcePPBaseline) Estimate(dst [][]float64, in Input) error {
	const name = "reinforce_pp_baseline"
	if err := checkInput(name, in, true, r.Needs()); err != nil {
		return err
	}
	if err := fitDst(name, dst, in.Mask); err != nil {
		return err
	}
	s := &r.s
	K := s.sums(in.Rewards, in.Group)
	for k := range K {
		if s.size[k] > 1 {
			s.mean[k] /= float64(s.size[k])
		} else {
			s.mean[k] = 0
		}
	}
	r.seq = grow(r.seq, len(in.Mask))
	for b, x := range in.Rewards {
		r.seq[b] = x - s.mean[s.of[b]]
	}
	broadcast(dst, r.seq, in.Mask)
	maskedWhiten(dst, dst, in.Mask)
	return nil
}
