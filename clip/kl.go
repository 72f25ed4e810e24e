package clip

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// klFunc returns an estimator's value at x = logp − refLogp and its
// derivative with respect to logp.
type klFunc func(x float64) (v, dv float64)

// klRegistry maps each KL estimator name (ours and verl's) to its function.
// Any name may carry a "+" suffix: value of the base estimator, gradient of
// k2 (straight-through), see NewKL.
var klRegistry = map[string]klFunc{
	"k1":         klK1,
	"kl":         klK1, // verl's name for k1
	"abs":        klAbs,
	"k2":         klK2,
	"mse":        klK2, // verl's name for k2
	"k3":         klK3,
	"low_var_kl": klK3, // verl's name for k3
}

// k1: v = x, dv = 1.
func klK1(x float64) (float64, float64) { return x, 1 }

// abs: v = |x|, dv = sign(x) with sign(0) = 0.
func klAbs(x float64) (float64, float64) {
	switch {
	case x > 0:
		return x, 1
	case x < 0:
		return -x, -1
	}
	return 0, 0
}

// k2: v = x²/2, dv = x.
func klK2(x float64) (float64, float64) { return x * x / 2, x }

// k3 (verl low_var_kl): u = clamp(−x, −20, 20), v = clamp(eᵘ − u − 1, −10, 10);
// dv = 1 − e^{−x} where neither clamp is active, else 0.
func klK3(x float64) (float64, float64) {
	u, live := -x, true
	if u > 20 {
		u, live = 20, false
	} else if u < -20 {
		u, live = -20, false
	}
	eu := math.Exp(u)
	v := eu - u - 1
	if v > 10 {
		v, live = 10, false
	} else if v < -10 {
		v, live = -10, false
	}
	if !live {
		return v, 0
	}
	return v, 1 - eu
}

// KLEstimator is one per-token estimator of KL(π_θ ‖ π_ref) from sampled
// tokens, a function of x = logp − refLogp (spec §4, verl kl_penalty):
//
//	k1  (kl)          x                                  ∂/∂logp = 1
//	abs               |x|                                sign(x), 0 at 0
//	k2  (mse)         x²/2                               x
//	k3  (low_var_kl)  clamp(eᵘ − u − 1, ±10), u = clamp(−x, ±20)
//	                                                     1 − e^{−x} inside both clamps, else 0
//	<name>+           value of <name>                    x (straight-through k2 gradient)
//
// The k1 and k3 values are unbiased KL estimates but their gradients are
// not unbiased KL gradients, hence the "+" variants. verl b178a3c documents
// "+" but raises NotImplementedError on it; this follows the documentation.
// TRL's k3 has no clamps.
//
// Schulman (2020), "Approximating KL divergence"; code: volcengine/verl
// verl/trainer/ppo/core_algos.py kl_penalty @ b178a3c.
type KLEstimator struct {
	name     string
	f        klFunc
	straight bool
}

// NewKL returns the estimator called name (see KLNames). An unknown name
// wraps ErrUnknownName.
func NewKL(name string) (KLEstimator, error) {
	base, straight := strings.CutSuffix(name, "+")
	f, ok := klRegistry[base]
	if !ok {
		return KLEstimator{}, fmt.Errorf("clip: kl: %w %q (known: %s)", ErrUnknownName, name, strings.Join(KLNames(), ", "))
	}
	return KLEstimator{name: name, f: f, straight: straight}, nil
}

// KLNames lists the estimator names, with and without "+", sorted.
func KLNames() []string {
	names := make([]string, 0, 2*len(klRegistry))
	for n := range klRegistry {
		names = append(names, n, n+"+")
	}
	slices.Sort(names)
	return names
}

// Name returns the name the estimator was built from.
func (k KLEstimator) Name() string { return k.name }

// Eval returns the estimate at x = logp − refLogp and its derivative with
// respect to logp.
func (k KLEstimator) Eval(x float64) (v, dv float64) {
	v, dv = k.f(x)
	if k.straight {
		dv = x
	}
	return v, dv
}

// Values writes the per-token estimate [B][T] (0 at masked positions) into
// dst, grown as needed, and, when dDst is non-nil, its derivative with
// respect to logp into *dDst. logp, refLogp and mask must share one shape.
func (k KLEstimator) Values(dst [][]float64, dDst *[][]float64, logp, refLogp, mask [][]float64) [][]float64 {
	dst = growLike(dst, logp)
	var dd [][]float64
	if dDst != nil {
		dd = growLike(*dDst, logp)
		*dDst = dd
	}
	for b, row := range logp {
		for t := range row {
			v, dv := 0.0, 0.0
			if mask[b][t] != 0 {
				v, dv = k.Eval(row[t] - refLogp[b][t])
			}
			dst[b][t] = v
			if dd != nil {
				dd[b][t] = dv
			}
		}
	}
	return dst
}

// RewardPenalty writes coef·kl(oldLogp − refLogp) per valid token into dst
// (0 at masked positions), the amount to subtract from the token rewards
// when the KL is put in the reward (verl use_kl_in_reward):
//
//	token_rewards = scores − β·kl(logp_old, logp_ref)
func (k KLEstimator) RewardPenalty(dst [][]float64, oldLogp, refLogp, mask [][]float64, coef float64) [][]float64 {
	dst = k.Values(dst, nil, oldLogp, refLogp, mask)
	for _, row := range dst {
		for t := range row {
			row[t] *= coef
		}
	}
	return dst
}

// KLConfig configures the KL loss.
type KLConfig struct {
	Kind string                   `mapstructure:"kind"` // estimator, see KLNames; default low_var_kl (k3)
	Coef float64                  `mapstructure:"coef"` // kl_loss_coef; default 0.001 (verl)
	Agg  `mapstructure:",squash"` // set to the actor's loss_agg_mode; default token-mean
}

// DefaultKLConfig returns verl's defaults: low_var_kl, coefficient 0.001,
// token-mean. verl's use_kl_loss is off by default; the trainer decides
// whether to add the loss at all.
func DefaultKLConfig() KLConfig {
	return KLConfig{Kind: "low_var_kl", Coef: 0.001, Agg: DefaultAgg()}
}

// Validate names the offending key.
func (c KLConfig) Validate() error {
	if _, err := NewKL(c.Kind); err != nil {
		return err
	}
	if !(c.Coef >= 0) || math.IsInf(c.Coef, 0) {
		return fmt.Errorf("clip: kl: coef %v must be finite and >= 0", c.Coef)
	}
	return validateAgg(c.Agg)
}

// KLLoss is the KL term added to the policy loss (spec §4):
//
//	L_kl = coef · Agg(kl(logp − refLogp), m)
//	∂L_kl/∂logp = coef · w · ∂kl/∂logp
//
// Metrics: kl_loss = Agg(kl, m) before the coefficient (verl's
// actor/kl_loss), kl_coef.
type KLLoss struct {
	est  KLEstimator
	coef float64
	agg  Agg
	w    []float64
}

var _ Loss = (*KLLoss)(nil)

// NewKLLoss validates cfg.
func NewKLLoss(cfg KLConfig) (*KLLoss, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	est, _ := NewKL(cfg.Kind)
	return &KLLoss{est: est, coef: cfg.Coef, agg: cfg.Agg}, nil
}

// Needs reports that the KL loss reads Input.RefLogp. It reads only Logp,
// RefLogp and Mask; OldLogp and Adv may be nil.
func (k *KLLoss) Needs() Needs { return Needs{RefLogp: true} }

// Compute implements Loss.
func (k *KLLoss) Compute(dst [][]float64, in Input) (Result, error) {
	if in.RefLogp == nil {
		return Result{}, fmt.Errorf("clip: kl: input ref_logp is required")
	}
	if err := sameShape("ref_logp", in.RefLogp, in.Logp); err != nil {
		return Result{}, err
	}
	if err := sameShape("mask", in.Mask, in.Logp); err != nil {
		return Result{}, err
	}
	dst = growLike(dst, in.Logp)
	k.w = k.agg.RowWeights(k.w, in.Mask)
	kl := 0.0
	for b, row := range in.Logp {
		ref, mask, g, w := in.RefLogp[b], in.Mask[b], dst[b], k.w[b]
		sum := 0.0
		for t := range row {
			if mask[t] == 0 {
				g[t] = 0
				continue
			}
			v, dv := k.est.Eval(row[t] - ref[t])
			sum += v
			g[t] = k.coef * w * dv
		}
		kl += w * sum
	}
	loss := k.coef * kl
	return Result{Loss: loss, Grad: dst, Metrics: map[string]float64{
		"kl_loss": kl,
		"kl_coef": k.coef,
	}}, nil
}
