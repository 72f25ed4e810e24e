package advantage

import "fmt"

// RLOOConfig configures rloo.
type RLOOConfig struct {
	// Singleton is the advantage of a response alone in its group:
	// "reward" keeps its reward (no baseline, as verl; default), "zero"
	// gives it 0, a deliberate deviation from verl that drops such responses
	// from the update.
	Singleton string `mapstructure:"singleton"`
}

// DefaultRLOOConfig returns verl's behaviour: a singleton keeps its reward.
func DefaultRLOOConfig() RLOOConfig { return RLOOConfig{Singleton: "reward"} }

// Validate checks the singleton rule.
func (c RLOOConfig) Validate() error {
	if c.Singleton != "reward" && c.Singleton != "zero" {
		return fmt.Errorf("advantage: rloo.singleton = %q, want \"reward\" or \"zero\"", c.Singleton)
	}
	return nil
}

// RLOO gives each response its reward minus the mean reward of the others
// in its group; a group of one keeps its reward (no baseline), as verl does,
// or gets 0 with Singleton "zero".
//
//	a_b = R_b − (Σ_{j∈G_k} R_j − R_b)/(n − 1)
//	    = R_b·n/(n−1) − μ_k·n/(n−1)        (verl's form, used here)
//	A[b][t] = a_b · m[b][t]
//
// Kool et al. (2019), "Buy 4 REINFORCE samples, get a baseline for free!";
// Ahmadian et al. (2024), arXiv 2402.14740; verl
// compute_rloo_outcome_advantage (volcengine/verl @ b178a3c).
type RLOO struct {
	cfg RLOOConfig
	s   groupStats
	seq []float64
}

var (
	_ Estimator = (*RLOO)(nil)
	_ Sequencer = (*RLOO)(nil)
)

// NewRLOO returns an RLOO estimator; it errors on an invalid config.
func NewRLOO(cfg RLOOConfig) (*RLOO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &RLOO{cfg: cfg}, nil
}

func newRLOO(cfg Config) (Estimator, error) { return NewRLOO(cfg.RLOO) }

// Needs reports the group ids.
func (r *RLOO) Needs() Needs { return Needs{Group: true} }

// Sequence writes a_b into dst[:B].
func (r *RLOO) Sequence(dst []float64, in Input) error {
	if err := checkInput("rloo", in, true, r.Needs()); err != nil {
		return err
	}
	if len(dst) < len(in.Mask) {
		return fmt.Errorf("advantage: rloo: dst has %d values, want %d", len(dst), len(in.Mask))
	}
	s := &r.s
	K := s.sums(in.Rewards, in.Group)
	for k := range K {
		s.mean[k] /= float64(s.size[k])
	}
	zero := r.cfg.Singleton == "zero"
	for b, x := range in.Rewards {
		k := s.of[b]
		switch n := float64(s.size[k]); {
		case n > 1:
			dst[b] = x*n/(n-1) - s.mean[k]*n/(n-1)
		case zero:
			dst[b] = 0
		default:
			dst[b] = x
		}
	}
	return nil
}

// Estimate writes A[b][t] = a_b·m[b][t] into dst.
func (r *RLOO) Estimate(dst [][]float64, in Input) error {
	if err := fitDst("rloo", dst, in.Mask); err != nil {
		return err
	}
	r.seq = grow(r.seq, len(in.Mask))
	if err := r.Sequence(r.seq, in); err != nil {
		return err
	}
	broadcast(dst, r.seq, in.Mask)
	return nil
}
