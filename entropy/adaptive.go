package entropy

import (
	"fmt"
	"math"
)

// AdaptiveCoefConfig configures the TRL / Skywork-OR1 adaptive entropy
// coefficient (trl grpo_config.py; defaults from there).
type AdaptiveCoefConfig struct {
	Coef   float64 `mapstructure:"coef"`   // entropy_coef, the initial c; default 0
	Target float64 `mapstructure:"target"` // entropy_target; default 0.2
	Delta  float64 `mapstructure:"delta"`  // entropy_coef_delta; default 0.005
	Min    float64 `mapstructure:"min"`    // entropy_coef_min; default 0
	Max    float64 `mapstructure:"max"`    // entropy_coef_max; default 1
}

// DefaultAdaptiveCoefConfig returns TRL's defaults.
func DefaultAdaptiveCoefConfig() AdaptiveCoefConfig {
	return AdaptiveCoefConfig{Coef: 0, Target: 0.2, Delta: 0.005, Min: 0, Max: 1}
}

// Validate names the offending key.
func (c AdaptiveCoefConfig) Validate() error {
	for _, kv := range []struct {
		k string
		v float64
	}{{"coef", c.Coef}, {"target", c.Target}, {"delta", c.Delta}, {"min", c.Min}, {"max", c.Max}} {
		if math.IsNaN(kv.v) || math.IsInf(kv.v, 0) {
			return fmt.Errorf("entropy: adaptive.%s %v must be finite", kv.k, kv.v)
		}
	}
	if c.Delta < 0 {
		return fmt.Errorf("entropy: adaptive.delta %v must be ≥ 0", c.Delta)
	}
	if c.Min > c.Max {
		return fmt.Errorf("entropy: adaptive.min %v must not exceed adaptive.max %v", c.Min, c.Max)
	}
	return nil
}

// AdaptiveCoefState is the checkpointed state of AdaptiveCoef. TRL starts
// last_world_entropy at +Inf; here HasLast = false stands for that (JSON
// cannot hold Inf).
type AdaptiveCoefState struct {
	Coef        float64 `json:"entropy_coef"`
	LastEntropy float64 `json:"last_world_entropy"`
	HasLast     bool    `json:"has_last"`
}

// AdaptiveCoef is TRL's adaptive entropy coefficient (the Skywork-OR1 rule).
// Within an optimizer step the loss uses
//
//	c_apply = c  if E_last ≤ target,  else 0      (state from before the step; the first step applies 0)
//
// and at the step boundary, with E the window's entropy token-mean over the
// effective mask (m ∧ k when the 80/20 mask is on),
//
//	c ← min(c + δ, c_max) if E ≤ target, else max(c − δ, c_min);   E_last ← E.
//
// huggingface/trl grpo_trainer.py compute_loss (entropy-bonus block).
type AdaptiveCoef struct {
	cfg AdaptiveCoefConfig
	st  AdaptiveCoefState
}

var _ CoefController = (*AdaptiveCoef)(nil)

// NewAdaptiveCoef starts from cfg.Coef with no previous entropy.
func NewAdaptiveCoef(cfg AdaptiveCoefConfig) *AdaptiveCoef {
	return &AdaptiveCoef{cfg: cfg, st: AdaptiveCoefState{Coef: cfg.Coef}}
}

// Coef is c_apply, the coefficient this step's loss uses.
func (a *AdaptiveCoef) Coef() float64 {
	if a.st.HasLast && a.st.LastEntropy <= a.cfg.Target {
		return a.st.Coef
	}
	return 0
}

// Metric names the bonus metrics Update reads.
func (*AdaptiveCoef) Metric() (mean, tokens string) {
	return "entropy/effective_token_mean", "entropy/effective_tokens"
}

// Update applies the step-boundary rule with the window's entropy E; step
// is unused.
func (a *AdaptiveCoef) Update(e float64, _ int) {
	if e <= a.cfg.Target {
		a.st.Coef = min(a.st.Coef+a.cfg.Delta, a.cfg.Max)
	} else {
		a.st.Coef = max(a.st.Coef-a.cfg.Delta, a.cfg.Min)
	}
	a.st.LastEntropy = e
	a.st.HasLast = true
}

// State returns the state for a checkpoint.
func (a *AdaptiveCoef) State() AdaptiveCoefState { return a.st }

// SetState restores a checkpointed state.
func (a *AdaptiveCoef) SetState(s AdaptiveCoefState) { a.st = s }
