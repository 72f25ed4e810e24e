package entropy

import (
	"fmt"
	"github.com/entrolab/entrolab/pg"
	"math"
)

// AEPOConfig configures the AEPO controller (597358816/AEPO
// verl/trainer/config.py TrainerConfig; defaults from there and
// examples/qwen-math-7b-AEPO.sh; the README's best run uses entropy_base 0.75).
type AEPOConfig struct {
	EntropyBase        float64 `mapstructure:"entropy_base"`         // H_target, compared with the sampled-token NLL; default 0.5
	TemperatureHigh    float64 `mapstructure:"temperature_high"`     // default 1.2
	TemperatureLow     float64 `mapstructure:"temperature_low"`      // default 0.8
	ReinforceSampleNum int     `mapstructure:"reinforce_sample_num"` // R; default 60
	AdvThreshold       float64 `mapstructure:"adv_threshold"`        // pool samples need advantage > this; default 0.05
	GRPOEps            float64 `mapstructure:"grpo_eps"`             // pool GRPO std guard; default 1e-6
}

// DefaultAEPOConfig returns the released defaults.
func DefaultAEPOConfig() AEPOConfig {
	return AEPOConfig{EntropyBase: 0.5, TemperatureHigh: 1.2, TemperatureLow: 0.8, ReinforceSampleNum: 60, AdvThreshold: 0.05, GRPOEps: 1e-6}
}

// Validate names the offending key.
func (c AEPOConfig) Validate() error {
	if math.IsNaN(c.EntropyBase) || math.IsInf(c.EntropyBase, 0) {
		return fmt.Errorf("entropy: aepo.entropy_base %v must be finite", c.EntropyBase)
	}
	if err := checkTemperature(c.TemperatureHigh); err != nil {
		return fmt.Errorf("entropy: aepo.temperature_high: %w", err)
	}
	if err := checkTemperature(c.TemperatureLow); err != nil {
		return fmt.Errorf("entropy: aepo.temperature_low: %w", err)
	}
	if c.ReinforceSampleNum < 0 {
		return fmt.Errorf("entropy: aepo.reinforce_sample_num %d must be ≥ 0", c.ReinforceSampleNum)
	}
	if math.IsNaN(c.AdvThreshold) {
		return fmt.Errorf("entropy: aepo.adv_threshold %v must be a number", c.AdvThreshold)
	}
	if !(c.GRPOEps >= 0) {
		return fmt.Errorf("entropy: aepo.grpo_eps %v must be ≥ 0", c.GRPOEps)
	}
	return nil
}

// AEPOState is the checkpointed state of AEPO: the previous update's
// entropy estimate (0 before the first step, so the first step uses T_high).
type AEPOState struct {
	EntropyPrev float64 `json:"entropy_prev"`
}

// AEPO is the AEPO controller as the official code runs it (Wang et al.,
// "Arbitrary Entropy Policy Optimization", 597358816/AEPO ray_trainer.py fit,
// alg == "AEPO"). Per step:
//
//  1. T = T_high if H_prev ≤ H_target, else T_low (the code's ≤; the paper writes <).
//  2. Sample n rollouts at T for the first quarter of the prompts
//     (PoolPromptCount), compute GRPO advantages within each pool group
//     (PoolAdvantages) and keep, in order, the samples with advantage >
//     adv_threshold (Select); their advantage becomes 1 on every token.
//  3. s = min(R, #selected) if H_prev ≤ H_target, else ⌊min(R, #selected)/2⌋,
//     and s ≤ N (SampleNum); s = 0 when nothing is selected (the code crashes
//     there; this is the spec's guard).
//  4. Batch = selected[:s] ++ regular[s:] (Assemble): N stays fixed and the
//     first s regular samples are dropped. Old log-probs of the whole batch
//     are recomputed at τ = 1.
//  5. The actor update runs AEPOLoss; H_prev ← the mean over micro-batches of
//     −masked_mean(ℓ, m) (EasyR1's actor/entropy_loss, the sampled-token NLL
//     at τ = 1; the trainer records it as actor/sampled_nll), via Update.
//
// The controller is bang-bang (no hysteresis) and the effective weight α of
// the pool term is implicit in the batch replacement.
type AEPO struct {
	cfg AEPOConfig
	st  AEPOState
}

// NewAEPO validates cfg and starts with H_prev = 0.
func NewAEPO(cfg AEPOConfig) (*AEPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AEPO{cfg: cfg}, nil
}

func (a *AEPO) below() bool { return a.st.EntropyPrev <= a.cfg.EntropyBase }

// Temperature is the pool's rollout temperature for this step.
func (a *AEPO) Temperature() float64 {
	if a.below() {
		return a.cfg.TemperatureHigh
	}
	return a.cfg.TemperatureLow
}

// SampleNum is s for a pool with selected positive samples and a regular
// batch of n samples.
func (a *AEPO) SampleNum(selected, n int) int {
	s := min(a.cfg.ReinforceSampleNum, selected)
	if !a.below() {
		s /= 2
	}
	return max(min(s, n), 0)
}

// Select appends to dst[:0], in order, the pool indices whose advantage
// exceeds adv_threshold (strict), and returns it. All-correct groups have
// advantage 0 and are excluded.
func (a *AEPO) Select(dst []int, poolAdv []float64) []int {
	dst = dst[:0]
	for i, v := range poolAdv {
		if v > a.cfg.AdvThreshold {
			dst = append(dst, i)
		}
	}
	return dst
}

// Update stores the step's entropy estimate (the mean over micro-batches of
// the sampled-token NLL, actor/sampled_nll).
func (a *AEPO) Update(entropyEstimate float64) { a.st.EntropyPrev = entropyEstimate }

// State returns the state for a checkpoint.
func (a *AEPO) State() AEPOState { return a.st }

// SetState restores a checkpointed state.
func (a *AEPO) SetState(s AEPOState) { a.st = s }

// PoolPromptCount is how many prompts the temperature-T pool draws from: the
// first len//4 of the step's prompts.
func PoolPromptCount(prompts int) int { return prompts / 4 }

// PoolAdvantages writes GRPO outcome advantages within each group into dst
// (length len(rewards); allocated when short):
//
//	A_i = (r_i − mean_g) / (std_g + eps),   std_g the unbiased std of group g
//
// A group of one uses mean 0 and std 1, as EasyR1 and verl do. EasyR1
// core_algos.compute_grpo_outcome_advantage.
func PoolAdvantages(dst, rewards []float64, groups []int, eps float64) []float64 {
	if len(groups) != len(rewards) {
		panic(fmt.Sprintf("entropy: %d group ids for %d rewards", len(groups), len(rewards)))
	}
	if cap(dst) < len(rewards) {
		dst = make([]float64, len(rewards))
	}
	dst = dst[:len(rewards)]
	type acc struct{ s, ss, n float64 }
	stats := make(map[int]*acc)
	for i, g := range groups {
		a := stats[g]
		if a == nil {
			a = &acc{}
			stats[g] = a
		}
		a.s += rewards[i]
		a.n++
	}
	for i, g := range groups {
		a := stats[g]
		d := rewards[i] - a.s/a.n
		a.ss += d * d
	}
	for i, g := range groups {
		a := stats[g]
		mean, std := a.s/a.n, 1.0
		if a.n > 1 {
			std = math.Sqrt(a.ss / (a.n - 1))
		} else {
			mean = 0
		}
		dst[i] = (rewards[i] - mean) / (std + eps)
	}
	return dst
}

// Source names where a row of the assembled AEPO batch comes from.
type Source struct {
	Pool  bool // true: a selected temperature-T pool sample; false: a regular sample
	Index int  // row in the pool or in the regular batch
}

// Assemble appends to dst[:0] the sources of the AEPO batch of n rows:
// selected[:s] from the pool, then regular rows s..n−1. It panics if s
// exceeds len(selected) or n.
func Assemble(dst []Source, selected []int, s, n int) []Source {
	if s > len(selected) || s > n {
		panic(fmt.Sprintf("entropy: aepo: sample count %d exceeds %d selected or batch %d", s, len(selected), n))
	}
	dst = dst[:0]
	for _, i := range selected[:s] {
		dst = append(dst, Source{Pool: true, Index: i})
	}
	for j := s; j < n; j++ {
		dst = append(dst, Source{Index: j})
	}
	return dst
}

// AEPOLossConfig configures the "aepo" policy loss (EasyR1 actor defaults).
type AEPOLossConfig struct {
	ClipLow  float64 `mapstructure:"clip_ratio_low"`  // default 0.2
	ClipHigh float64 `mapstructure:"clip_ratio_high"` // default 0.2
	ClipDual float64 `mapstructure:"clip_ratio_dual"` // default 3
	Agg      AggMode `mapstructure:"-"`               // set from the loss section's loss_agg_mode; default token-mean (EasyR1's masked mean per micro-batch)
}

// DefaultAEPOLossConfig returns EasyR1's actor defaults.
func DefaultAEPOLossConfig() AEPOLossConfig {
	return AEPOLossConfig{ClipLow: 0.2, ClipHigh: 0.2, ClipDual: 3, Agg: TokenMean}
}

// Validate names the offending key.
func (c AEPOLossConfig) Validate() error {
	if err := validateClip("aepo", c.ClipLow, c.ClipHigh, c.ClipDual); err != nil {
		return err
	}
	return validateAgg("aepo.agg", c.Agg)
}

// AEPOLoss is the actor loss AEPO's code runs on the assembled batch: EasyR1
// dual-clip PPO (no log-ratio clamp; the ratio is clipped in log space)
//
//	r  = exp(ℓ − ℓ^old),  r̃ = exp(clamp(ℓ − ℓ^old, log(1−ε_low), log(1+ε_high)))
//	hi = max(−A·r, −A·r̃);  pg = hi if A ≥ 0, else min(hi, −A·c_dual)
//	L  = token-mean of pg;  ∂L/∂ℓ = m/Σm · (−A·r on the unclipped branch, else 0)
//
// On the first on-policy mini-batch a pool token (A = 1) contributes the
// REINFORCE gradient −∇log π(a)/#tokens. EasyR1 verl/trainer/core_algos.py
// compute_policy_loss. Metrics: pg_loss, pg_clipfrac, pg_clipfrac_lower,
// ppo_kl (the controller's next estimate, the sampled-token NLL, is the
// trainer's actor/sampled_nll).
type AEPOLoss struct {
	Cfg AEPOLossConfig
	agg aggregator
}

var _ pg.Loss = (*AEPOLoss)(nil)

func newAEPOLoss(cfg PolicyConfig) (pg.Loss, error) { return &AEPOLoss{Cfg: cfg.AEPO}, nil }

// Needs reads nothing optional.
func (*AEPOLoss) Needs() pg.Needs { return pg.Needs{} }

// Compute computes the loss and writes ∂L/∂Logp into dst. It panics on shape
// mismatch.
func (l *AEPOLoss) Compute(dst [][]float64, in pg.Input) (pg.Result, error) {
	for _, x := range []struct {
		name string
		v    [][]float64
	}{{"logp", in.Logp}, {"old_logp", in.OldLogp}, {"adv", in.Adv}} {
		checkShape2(x.name, x.v, in.Mask)
	}
	p := dualClip{low: l.Cfg.ClipLow, high: l.Cfg.ClipHigh, c: l.Cfg.ClipDual, logSpace: true}
	l.agg.reset(l.Cfg.Agg, in.Mask, 0)
	dst = ensure2(dst, in.Mask)
	loss, met := weightedPPO(dst, in, p, &l.agg, nil)
	return pg.Result{Loss: loss, Grad: dst, Metrics: met}, nil
}
