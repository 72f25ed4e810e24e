package entropy

import (
	"fmt"
	"github.com/entrolab/entrolab/masked"
	"github.com/entrolab/entrolab/pg"
	"math"
)

// SteerConfig configures the "steer" policy loss. Defaults are
// run/run_linear.sh (linear, w ∈ [0.8, 1.2], ε 0.2/0.28, c_dual 10,
// token-mean); run_exp.sh uses linear false, w_min 0.8, w_max 1.0. The
// dp_actor fallback when token_weight_* are absent is [0.95, 1.05].
type SteerConfig struct {
	ClipLow   float64    `mapstructure:"clip_ratio_low"`   // ε_low; default 0.2
	ClipHigh  float64    `mapstructure:"clip_ratio_high"`  // ε_high; default 0.28
	ClipC     float64    `mapstructure:"clip_ratio_c"`     // c_dual > 1; default 10
	Agg       masked.Agg `mapstructure:"-"`                // the loss section's loss_agg_mode and loss_scale_factor; default token-mean
	WeightMin float64    `mapstructure:"token_weight_min"` // w_min (λ_min); default 0.8
	WeightMax float64    `mapstructure:"token_weight_max"` // w_max (linear only); default 1.2
	Linear    bool       `mapstructure:"linear"`           // min–max mapping; false: exponential; default true
}

// DefaultSteerConfig returns run_linear.sh's settings.
func DefaultSteerConfig() SteerConfig {
	return SteerConfig{ClipLow: 0.2, ClipHigh: 0.28, ClipC: 10, Agg: masked.DefaultAgg(), WeightMin: 0.8, WeightMax: 1.2, Linear: true}
}

// Validate names the offending key.
func (c SteerConfig) Validate() error {
	if err := validateClip("steer", c.ClipLow, c.ClipHigh, c.ClipC); err != nil {
		return err
	}
	if err := c.Agg.Validate(); err != nil {
		return fmt.Errorf("entropy: steer: %w", err)
	}
	if c.Linear {
		if !(c.WeightMin >= 0 && c.WeightMin <= c.WeightMax) || math.IsInf(c.WeightMax, 0) {
			return fmt.Errorf("entropy: steer.token_weight_min %v and token_weight_max %v must satisfy 0 ≤ min ≤ max < Inf", c.WeightMin, c.WeightMax)
		}
		return nil
	}
	if !(c.WeightMin > 0 && c.WeightMin <= 1) {
		return fmt.Errorf("entropy: steer.token_weight_min %v must lie in (0, 1] for the exponential mapping", c.WeightMin)
	}
	return nil
}

// SteerEstimate writes STEER's token-level entropy-change estimate (no
// gradient) at EVERY position of logp into delta and omega (allocated when
// nil or short):
//
//	x     = clip(exp(ℓ), 1e−8, 1 − 1e−8)       (current prob. of the sampled token)
//	δ     = x · (1 − x) · (log x + H^old)
//	p^old = clip(exp(ℓ^old), 1e−8, 1)
//	Ω     = | A / p^old · δ |                  (non-finite → 0)
//
// The code's δ is implemented exactly; a first-order analysis suggests one
// more factor of x (spec §3.7). zz-haooo/STEER core_algos.compute_token_weights.
func SteerEstimate(delta, omega, logp, oldLogp, oldEntropy, adv [][]float64) (d, o [][]float64) {
	delta = ensure2(delta, logp)
	omega = ensure2(omega, logp)
	for b, row := range logp {
		for t, l := range row {
			x := math.Min(math.Max(math.Exp(l), 1e-8), 1-1e-8)
			dl := x * (1 - x) * (math.Log(x) + oldEntropy[b][t])
			po := math.Min(math.Max(math.Exp(oldLogp[b][t]), 1e-8), 1)
			om := math.Abs(adv[b][t] / po * dl)
			if math.IsNaN(om) || math.IsInf(om, 0) {
				om = 0
			}
			delta[b][t] = dl
			omega[b][t] = om
		}
	}
	return delta, omega
}

// SteerWeights maps Ω to per-token weights over the valid tokens of one
// micro-batch (Ω_min, Ω_max over them), writing dst shaped like mask:
//
//	linear: w = clip(w_max − (Ω − Ω_min)·(w_max − w_min)/(Ω_max − Ω_min), w_min, w_max)
//	        or (w_min + w_max)/2 when Ω_max = Ω_min
//	exp:    κ = −ln(w_min) / max(Ω_max, 0.02),  w = clip(exp(−κ·Ω), w_min, 1)   (w_max unused)
//
// Padding gets 0; with no valid token every weight is 0. The weights depend
// on micro-batch composition (spec §3.6); the mean is not normalised to 1.
func SteerWeights(dst, omega, mask [][]float64, wMin, wMax float64, linear bool) (w [][]float64, omegaMin, omegaMax float64) {
	checkShape2("omega", omega, mask)
	dst = ensure2(dst, mask)
	omegaMin, omegaMax = math.Inf(1), math.Inf(-1)
	for b, row := range mask {
		for t, m := range row {
			if m != 0 {
				omegaMin = math.Min(omegaMin, omega[b][t])
				omegaMax = math.Max(omegaMax, omega[b][t])
			}
		}
	}
	kappa := 0.0
	if !linear {
		kappa = -math.Log(wMin) / math.Max(omegaMax, 0.02)
	}
	for b, row := range mask {
		for t, m := range row {
			if m == 0 {
				dst[b][t] = 0
				continue
			}
			om := omega[b][t]
			var w float64
			switch {
			case !linear:
				w = math.Min(math.Max(math.Exp(-kappa*om), wMin), 1)
			case omegaMax > omegaMin:
				w = wMax - (om-omegaMin)*(wMax-wMin)/(omegaMax-omegaMin)
				w = math.Min(math.Max(w, wMin), wMax)
			default:
				w = (wMin + wMax) / 2
			}
			dst[b][t] = w
		}
	}
	if math.IsInf(omegaMax, -1) {
		omegaMin, omegaMax = 0, 0
	}
	return dst, omegaMin, omegaMax
}

// Steer is STEER, "Stabilizing Token-level Entropy-changE via Reweighting"
// (Hao et al., "Rethinking Entropy Interventions in RLVR: An Entropy Change
// Perspective", arXiv 2510.10150; zz-haooo/STEER core_algos
// compute_policy_loss_with_entropy, loss_mode entropy_control): verl's
// dual-clip PPO token loss pg (log-ratio clamped to ±20) reweighted by the
// detached SteerWeights w of SteerEstimate's Ω:
//
//	L = Agg_mode(w · pg, m)
//	∂L/∂ℓ[b,t] = W[b,t] · w[b,t] · (−A·r if the unclipped branch is active, else 0)
//
// It needs Input.OldEntropy (the old-log-prob pass's entropy at the
// rollout temperature); the input is mandatory, unlike the fork's fallback
// path. The whole input is one micro-batch for the Ω min–max. Metrics:
// pg_loss, pg_clipfrac, pg_clipfrac_lower, ppo_kl, steer/weight_mean,
// steer/weight_min, steer/omega_max. Not safe for concurrent use.
type Steer struct {
	Cfg                   SteerConfig
	delta, omega, weights [][]float64
	agg                   aggregator
}

var _ pg.Loss = (*Steer)(nil)

func newSteer(cfg PolicyConfig) (pg.Loss, error) { return NewSteer(cfg.Steer), nil }

// NewSteer builds the loss; cfg is assumed validated.
func NewSteer(cfg SteerConfig) *Steer { return &Steer{Cfg: cfg} }

// Needs asks for the old-policy entropy.
func (*Steer) Needs() pg.Needs { return pg.Needs{OldEntropy: true} }

func (s *Steer) ppo() dualClip {
	return dualClip{low: s.Cfg.ClipLow, high: s.Cfg.ClipHigh, c: s.Cfg.ClipC, logClamp: 20}
}

// Compute computes the STEER loss and writes ∂L/∂Logp into dst. It returns an
// error when OldEntropy is missing and panics on shape mismatch.
func (s *Steer) Compute(dst [][]float64, in pg.Input) (pg.Result, error) {
	if in.OldEntropy == nil {
		return pg.Result{}, fmt.Errorf("entropy: steer: Input.OldEntropy is required")
	}
	for _, x := range []struct {
		name string
		v    [][]float64
	}{{"logp", in.Logp}, {"old_logp", in.OldLogp}, {"adv", in.Adv}, {"old_entropy", in.OldEntropy}} {
		checkShape2(x.name, x.v, in.Mask)
	}
	s.delta, s.omega = SteerEstimate(s.delta, s.omega, in.Logp, in.OldLogp, in.OldEntropy, in.Adv)
	var oMax float64
	s.weights, _, oMax = SteerWeights(s.weights, s.omega, in.Mask, s.Cfg.WeightMin, s.Cfg.WeightMax, s.Cfg.Linear)
	s.agg.reset(s.Cfg.Agg.Mode, in.Mask, s.Cfg.Agg.ScaleFactor)
	dst = ensure2(dst, in.Mask)
	loss, met := weightedPPO(dst, in, s.ppo(), &s.agg, s.weights)
	var n, wSum float64
	wMin := math.Inf(1)
	for b, row := range in.Mask {
		for t, m := range row {
			if m != 0 {
				w := s.weights[b][t]
				n += m
				wSum += m * w
				wMin = math.Min(wMin, w)
			}
		}
	}
	met["steer/omega_max"] = oMax
	if n > 0 {
		met["steer/weight_mean"] = wSum / n
		met["steer/weight_min"] = wMin
	} else {
		met["steer/weight_mean"], met["steer/weight_min"] = 0, 0
	}
	return pg.Result{Loss: loss, Grad: dst, Metrics: met}, nil
}
