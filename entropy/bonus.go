package entropy

import (
	"fmt"
	"math"
)

// BonusConfig configures the "bonus" and "adaptive_bonus" regularizers.
type BonusConfig struct {
	Coef            float64 `mapstructure:"coef"`              // entropy_coeff c; default 0 (verl since PR #1770; it was 0.001)
	Agg             AggMode `mapstructure:"agg"`               // loss_agg_mode, shared with the policy loss; default token-mean
	LossScaleFactor float64 `mapstructure:"loss_scale_factor"` // L of seq-mean-token-sum-norm; 0 means T (verl's null)
	// TopEntropyQuantile is TRL's ρ: when below 1 the entropy is averaged
	// over m ∧ k, k the HighEntropyMask. Default 1 (off).
	TopEntropyQuantile float64 `mapstructure:"top_entropy_quantile"`
}

// DefaultBonusConfig is verl's actor default: c = 0, token-mean, no mask.
func DefaultBonusConfig() BonusConfig {
	return BonusConfig{Coef: 0, Agg: TokenMean, TopEntropyQuantile: 1}
}

// Validate names the offending key.
func (c BonusConfig) Validate() error {
	if math.IsNaN(c.Coef) || math.IsInf(c.Coef, 0) {
		return fmt.Errorf("entropy: bonus.coef %v must be finite", c.Coef)
	}
	if err := validateAgg("bonus.agg", c.Agg); err != nil {
		return err
	}
	if !(c.LossScaleFactor >= 0) || math.IsInf(c.LossScaleFactor, 0) {
		return fmt.Errorf("entropy: bonus.loss_scale_factor %v must be finite and ≥ 0 (0 means T)", c.LossScaleFactor)
	}
	return validateRho("bonus.top_entropy_quantile", c.TopEntropyQuantile)
}

// Bonus is the verl entropy bonus: the loss gains
//
//	L = −c · Agg_mode(H, m),      H = H(softmax(z/τ))
//	∂L/∂z[b,t,v] = −c · W[b,t] · ∂H[b,t]/∂z_v,   W = ∂Agg/∂X
//
// With TopEntropyQuantile ρ < 1 the mask is m ∧ k (TRL's 80/20 mask, as the
// TRL entropy-bonus block uses it). verl actor/entropy is entropy/agg.
// Metrics: entropy/token_mean (token-mean of H over m), entropy/agg,
// entropy/effective_token_mean and entropy/effective_tokens (over m ∧ k; what
// the TRL controller reads), entropy/coef, entropy/loss and, with the mask,
// entropy/high_mask_frac.
//
// volcengine/verl dp_actor.update_policy, torch_functional.entropy_from_logits.
type Bonus struct {
	Cfg  BonusConfig
	ent  [][]float64
	keep [][]float64
	hm   HighEntropyMask
	agg  aggregator
}

var (
	_ Regularizer = (*Bonus)(nil)
	_ Tunable     = (*Bonus)(nil)
)

func newBonus(cfg Config) (Regularizer, error) { return NewBonus(cfg.Bonus), nil }

func newAdaptiveBonus(cfg Config) (Regularizer, error) {
	b := NewBonus(cfg.Bonus)
	b.Cfg.Coef = NewAdaptiveCoef(cfg.Adaptive).Coef()
	return b, nil
}

// NewBonus builds a Bonus; cfg is assumed validated.
func NewBonus(cfg BonusConfig) *Bonus { return &Bonus{Cfg: cfg} }

// Needs reads nothing optional.
func (*Bonus) Needs() Needs { return Needs{} }

// SetCoef sets c.
func (r *Bonus) SetCoef(c float64) { r.Cfg.Coef = c }

// Regularize computes the bonus term and its logits gradient.
func (r *Bonus) Regularize(dst [][][]float64, in Input) (Output, error) {
	if err := checkTemperature(in.Temperature); err != nil {
		return Output{}, err
	}
	checkLogits(in.Logits, in.Mask)
	dst = ensure3(dst, in.Logits)
	r.ent = ensure2(r.ent, in.Mask)
	c := r.Cfg.Coef
	for b, row := range in.Mask {
		for t, m := range row {
			switch {
			case m == 0:
				r.ent[b][t] = 0
			case c == 0: // measuring only (verl's default): skip the gradient
				r.ent[b][t] = TokenEntropy(in.Logits[b][t], in.Temperature)
			default:
				r.ent[b][t] = TokenEntropyGrad(dst[b][t], in.Logits[b][t], in.Temperature)
			}
		}
		for t := len(row); t < len(dst[b]); t++ {
			clear(dst[b][t])
		}
	}
	eff := in.Mask
	var kept int
	if r.Cfg.TopEntropyQuantile < 1 {
		r.hm.Rho = r.Cfg.TopEntropyQuantile
		r.keep, _, kept = r.hm.Apply(r.keep, r.ent, in.Mask)
		eff = r.keep
	}
	r.agg.reset(r.Cfg.Agg, eff, r.Cfg.LossScaleFactor)
	h := r.agg.apply(r.ent, eff)
	for b, row := range in.Mask {
		for t := range row {
			g := -c * r.agg.weight(b, eff[b][t])
			out := dst[b][t]
			if g == 0 {
				clear(out)
				continue
			}
			for v := range out {
				out[v] *= g
			}
		}
	}
	valid := countValid(in.Mask)
	effN := countValid(eff)
	met := map[string]float64{
		"entropy/token_mean":           maskedMean(r.ent, in.Mask),
		"entropy/agg":                  h,
		"entropy/effective_token_mean": maskedMean(r.ent, eff),
		"entropy/effective_tokens":     effN,
		"entropy/valid_tokens":         valid,
		"entropy/coef":                 c,
		"entropy/loss":                 -c * h,
	}
	if r.Cfg.TopEntropyQuantile < 1 {
		frac := 0.0
		if valid > 0 {
			frac = float64(kept) / valid
		}
		met["entropy/high_mask_frac"] = frac
	}
	return Output{Loss: -c * h, Grad: dst, Metrics: met}, nil
}
