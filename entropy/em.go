package entropy

import (
	"fmt"
	"math"
)

// EMConfig configures the "em" regularizer (EM-FT) and EMRLRewards.
type EMConfig struct {
	Coef float64 `mapstructure:"coef"` // weight of the EM-FT loss; default 1
	Agg  AggMode `mapstructure:"agg"`  // default token-mean (the spec's assumption; the paper's normalisation is unconfirmed)
	// Reward picks the EM-RL reward: "traj" (Σ_t log π(y_t)) or "token"
	// (−Σ_t H_t, the paper's "negative sum of token-level entropy"). Default "token".
	Reward string `mapstructure:"reward"`
	// PerToken divides the EM-RL reward by the response length. Default false
	// (the spec's default is the sum; whether the paper normalises is unconfirmed).
	PerToken bool `mapstructure:"per_token"`
}

// DefaultEMConfig returns coef 1, token-mean, the "token" reward, summed.
func DefaultEMConfig() EMConfig { return EMConfig{Coef: 1, Agg: TokenMean, Reward: "token"} }

// Validate names the offending key.
func (c EMConfig) Validate() error {
	if math.IsNaN(c.Coef) || math.IsInf(c.Coef, 0) {
		return fmt.Errorf("entropy: em.coef %v must be finite", c.Coef)
	}
	if err := validateAgg("em.agg", c.Agg); err != nil {
		return err
	}
	if c.Reward != "traj" && c.Reward != "token" {
		return fmt.Errorf("entropy: em.reward %q is not an EM-RL reward (known: token, traj)", c.Reward)
	}
	return nil
}

// EMFT is entropy-minimisation fine-tuning (Agarwal et al., "The
// Unreasonable Effectiveness of Entropy Minimization in LLM Reasoning",
// arXiv 2505.15134): minimise the token entropy of the model's own samples,
// which are fixed data (no gradient through sampling):
//
//	L = coef · Agg(H, m)      (token-mean by default: Σ_valid H_t / #valid)
//	∂L/∂z_{t,v} = coef · W_t · (−(1/τ) π_v (log π_v + H_t))
//
// It is the entropy bonus with the opposite sign and no policy-gradient
// term. No training code was released (shivamag125/EM_PT holds evaluation
// only); the normalisation is the spec's assumption. Metrics:
// entropy/token_mean, entropy/agg, entropy/valid_tokens, entropy/loss.
type EMFT struct {
	Cfg   EMConfig
	bonus Bonus
}

var _ Regularizer = (*EMFT)(nil)

func newEMFT(cfg Config) (Regularizer, error) { return NewEMFT(cfg.EM), nil }

// NewEMFT builds the regularizer; cfg is assumed validated.
func NewEMFT(cfg EMConfig) *EMFT {
	return &EMFT{Cfg: cfg, bonus: Bonus{Cfg: BonusConfig{Coef: -cfg.Coef, Agg: cfg.Agg, TopEntropyQuantile: 1}}}
}

// Needs reads nothing optional.
func (*EMFT) Needs() Needs { return Needs{} }

// Regularize computes the EM-FT loss and its logits gradient.
func (r *EMFT) Regularize(dst [][][]float64, in Input) (Output, error) {
	r.bonus.Cfg.Coef = -r.Cfg.Coef
	r.bonus.Cfg.Agg = r.Cfg.Agg
	out, err := r.bonus.Regularize(dst, in)
	if err != nil {
		return out, err
	}
	m := out.Metrics
	out.Metrics = map[string]float64{
		"entropy/token_mean":   m["entropy/token_mean"],
		"entropy/agg":          m["entropy/agg"],
		"entropy/valid_tokens": m["entropy/valid_tokens"],
		"entropy/loss":         out.Loss,
	}
	return out, nil
}

// EMRLRewards writes one detached EM-RL reward per sequence into dst
// (length B; allocated when short) and returns it:
//
//	"traj":  r(y) = Σ_t m·log π(y_t | y_<t, x)   (= −Ĥ_traj, a one-sample estimate)
//	"token": r(y) = −Σ_t m·H_t
//
// divided by Σ_t m when cfg.PerToken (0 for an empty row). logp and entropy
// are the rollout's per-token log-probs and entropies [B][T]. The rewards
// replace the verifier reward in a standard estimator (GRPO, RLOO). It panics
// on a reward name other than "traj" or "token", or on shape mismatch.
func EMRLRewards(dst []float64, cfg EMConfig, logp, entropy, mask [][]float64) []float64 {
	src, sign := entropy, -1.0
	switch cfg.Reward {
	case "traj":
		src, sign = logp, 1
	case "token":
	default:
		panic(fmt.Sprintf("entropy: em.reward %q is not an EM-RL reward", cfg.Reward))
	}
	checkShape2("em input", src, mask)
	if cap(dst) < len(mask) {
		dst = make([]float64, len(mask))
	}
	dst = dst[:len(mask)]
	for b, row := range mask {
		var s, n float64
		for t, m := range row {
			if m != 0 {
				s += m * src[b][t]
				n += m
			}
		}
		r := sign * s
		if cfg.PerToken {
			r = 0
			if n > 0 {
				r = sign * s / n
			}
		}
		dst[b] = r
	}
	return dst
}
