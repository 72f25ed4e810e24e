package advantage

import (
	"fmt"
	"math"
)

// ReinforcePPConfig configures reinforce_pp.
type ReinforcePPConfig struct {
	Gamma float64 `mapstructure:"gamma"` // discount of the return-to-go, in [0, 1]; default 1 (verl)
}

// DefaultReinforcePPConfig returns verl's default discount, 1.
func DefaultReinforcePPConfig() ReinforcePPConfig { return ReinforcePPConfig{Gamma: 1} }

// Validate checks that gamma lies in [0, 1].
func (c ReinforcePPConfig) Validate() error {
	if !(c.Gamma >= 0 && c.Gamma <= 1) {
		return fmt.Errorf("advantage: reinforce_pp.gamma = %v, want a value in [0, 1]", c.Gamma)
	}
	return nil
}

// ReinforcePP is REINFORCE++: the discounted return-to-go of the per-token
// rewards, whitened over every valid token of the batch.
//
//	G[b][t] = (rew[b][t] + γ·G[b][t+1]) · m[b][t]
//	A = masked_whiten(G, m) · m
//	masked_whiten(x, m) = (x − μ)·(v + 1e-8)^(−1/2),
//	  μ = Σ x·m/(N + 1e-8),  v = Σ (x−μ)²·m/(N + 1e-8) · N/(N−1),  N = Σ m
//
// The running sum is cut by the mask after each step, so returns do not
// leak across padding (nor across an interior masked token). It reads
// Input.TokenRewards, not Rewards; [OutcomeTokenRewards] builds them from
// outcome rewards. verl raises an error when N ≤ 1; here such a batch gets
// all-zero advantages (nothing to whiten against).
//
// Hu (2025), REINFORCE++, arXiv 2501.03262; verl
// compute_reinforce_plus_plus_outcome_advantage and masked_whiten
// (volcengine/verl @ b178a3c).
type ReinforcePP struct {
	cfg ReinforcePPConfig
}

var _ Estimator = (*ReinforcePP)(nil)

// NewReinforcePP returns a REINFORCE++ estimator; it errors on an invalid
// config.
func NewReinforcePP(cfg ReinforcePPConfig) (*ReinforcePP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &ReinforcePP{cfg: cfg}, nil
}

func newReinforcePP(cfg Config) (Estimator, error) { return NewReinforcePP(cfg.ReinforcePP) }

// Needs reports the per-token rewards.
func (r *ReinforcePP) Needs() Needs { return Needs{TokenRewards: true} }

// Estimate writes the whitened returns into dst.
func (r *ReinforcePP) Estimate(dst [][]float64, in Input) error {
	return r.EstimateReturns(dst, dst, in)
}

// EstimateReturns writes the masked returns G into ret and the advantages
// into adv; the two may be the same slice (Estimate passes dst for both).
func (r *ReinforcePP) EstimateReturns(adv, ret [][]float64, in Input) error {
	const name = "reinforce_pp"
	if err := checkInput(name, in, false, r.Needs()); err != nil {
		return err
	}
	if err := fitDst(name, ret, in.Mask); err != nil {
		return err
	}
	if err := fitDst(name, adv, in.Mask); err != nil {
		return err
	}
	gamma := r.cfg.Gamma
	for b, row := range in.Mask {
		rew, g := in.TokenRewards[b], ret[b]
		run := 0.0
		for t := len(row) - 1; t >= 0; t-- {
			switch m := row[t]; m {
			case 1: // the common case; saves a multiply on the carried chain
				run = rew[t] + gamma*run
			case 0:
				run = 0
			default:
				run = (rew[t] + gamma*run) * m
			}
			g[t] = run
		}
	}
	maskedWhiten(adv, ret, in.Mask)
	return nil
}

// OutcomeTokenRewards writes the per-token rewards of outcome scoring into
// dst: R_b on the last valid token of row b, 0 elsewhere (verl's
// token_level_rewards). dst rows are sized as in Estimate.
func OutcomeTokenRewards(dst [][]float64, rewards []float64, mask [][]float64) error {
	if err := fitDst("outcome token rewards", dst, mask); err != nil {
		return err
	}
	if len(rewards) != len(mask) {
		return fmt.Errorf("advantage: outcome token rewards: %d rewards for %d responses", len(rewards), len(mask))
	}
	for b, row := range mask {
		d := dst[b]
		clear(d)
		for t := len(row) - 1; t >= 0; t-- {
			if row[t] != 0 {
				d[t] = rewards[b]
				break
			}
		}
	}
	return nil
}

// maskedWhiten writes masked_whiten(x, m)·m into dst (dst may be x), or
// zeros when N = Σ m ≤ 1.
func maskedWhiten(dst, x, mask [][]float64) {
	var n, sum float64
	for b, row := range mask {
		xb := x[b]
		for t, m := range row {
			n += m
			sum += xb[t] * m
		}
	}
	if n <= 1 {
		for b, row := range mask {
			clear(dst[b][:len(row)])
		}
		return
	}
	mean := sum / (n + 1e-8)
	var ss float64
	for b, row := range mask {
		xb := x[b]
		for t, m := range row {
			d := xb[t] - mean
			ss += d * d * m
		}
	}
	v := ss / (n + 1e-8) * (n / (n - 1))
	inv := 1 / math.Sqrt(v+1e-8)
	for b, row := range mask {
		xb, d := x[b], dst[b]
		for t, m := range row {
			d[t] = (xb[t] - mean) * inv * m
		}
	}
}
