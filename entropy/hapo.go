package entropy

import (
	"errors"
	"fmt"
	"math"

	"github.com/entrolab/entrolab/masked"
)

// HHatMode chooses how HAPO's normalised entropy treats the low-entropy
// side (masked.HHatMode, shared with the HAPO loss).
type HHatMode = masked.HHatMode

const (
	// Signed is the stated intent: ĥ = h/P for h > 0, h/|Q| otherwise, so
	// ĥ ∈ [−1, 1] and low-entropy tokens get a lower temperature. The
	// recommended default.
	Signed = masked.HHatSigned
	// AsReleased reproduces the released code: ĥ = h·(1/Q) for h ≤ 0 with
	// Q < 0, so ĥ ≥ 0 everywhere and the temperature never drops.
	AsReleased = masked.HHatAsReleased
)

// HAPOStats is the tuple compute_entropy_h returns, used by the sampler.
type HAPOStats struct {
	Median        float64 `json:"median"`         // μ: the pivot quantile of ln max(H, ε)
	QuantileIndex int     `json:"quantile_index"` // k = round_half_even(q·(N−1))
	Std           float64 `json:"std"`            // s = sqrt(max(Σ(ℓ−μ)²/N, ε)), an RMS about the pivot
	PosMax        float64 `json:"pos_max"`        // P = max(ε, max h over h > 0)
	NegMin        float64 `json:"neg_min"`        // Q = min(−ε, min h over h < 0)
	ScalePos      float64 `json:"scale_pos"`      // 1/P
	ScaleNeg      float64 `json:"scale_neg"`      // 1/|Q| (signed) or 1/Q (as released)
}

// ErrNoValidToken is returned when a reduction has no valid token.
var ErrNoValidToken = errors.New("entropy: no valid token")

// ComputeEntropyH is HAPO's entropy normalisation (starriver030515/HAPO
// compute_entropy_h; ADVANTAGE_AND_CLIPPING.md §10.1). Over valid tokens,
// with ε = eps (1e-8) and q = pivot (0.8):
//
//	ℓ = ln max(H, ε);  μ = sorted(ℓ)[round_half_even(q·(N−1))]   ("nearest")
//	s = sqrt(max(Σ(ℓ−μ)²/N, ε));  h = (ℓ−μ)/s
//	P = max(ε, max_{h>0} h);  Q = min(−ε, min_{h<0} h)
//	ĥ = h/P if h > 0;  h/|Q| (signed) or h/Q (as released) otherwise
//
// It writes ĥ into dst (0 at padding; allocated when nil or short) and
// returns it with the stats. It fails with ErrNoValidToken on an
// empty mask.
func ComputeEntropyH(dst, entropy, mask [][]float64, pivot, eps float64, mode HHatMode) ([][]float64, HAPOStats, error) {
	checkShape2("entropy", entropy, mask)
	dst = ensure2(dst, mask)
	st, _ := masked.NormalizeEntropy(dst, entropy, mask, 0, len(mask), pivot, eps, mode, nil)
	if st.N == 0 {
		return dst, HAPOStats{}, fmt.Errorf("%w for compute_entropy_h", ErrNoValidToken)
	}
	return dst, HAPOStats{Median: st.Pivot, QuantileIndex: st.QuantileIndex, Std: st.Std,
		PosMax: st.PosMax, NegMin: st.NegMin, ScalePos: st.ScalePos, ScaleNeg: st.ScaleNeg}, nil
}

// HAPOTemperatureConfig configures HAPO's Adaptive Temperature Sampling.
type HAPOTemperatureConfig struct {
	Temperature float64  `mapstructure:"temperature"`     // base T; default 1.0 (validation uses 0.5)
	Tau         float64  `mapstructure:"temperature_tau"` // τ; default 0.05
	Pivot       float64  `mapstructure:"entropy_pivot"`   // q; default 0.8
	StatsEps    float64  `mapstructure:"stats_eps"`       // ε of compute_entropy_h; default 1e-8
	SampleEps   float64  `mapstructure:"sample_eps"`      // ε at decoding time; default 1e-6
	Mode        HHatMode `mapstructure:"hhat_mode"`       // default signed; as_released reproduces the runs
}

// DefaultHAPOTemperatureConfig returns the HAPO recipe's settings with the
// signed ĥ.
func DefaultHAPOTemperatureConfig() HAPOTemperatureConfig {
	return HAPOTemperatureConfig{Temperature: 1, Tau: 0.05, Pivot: 0.8, StatsEps: 1e-8, SampleEps: 1e-6, Mode: Signed}
}

// Validate names the offending key.
func (c HAPOTemperatureConfig) Validate() error {
	if err := checkTemperature(c.Temperature); err != nil {
		return fmt.Errorf("entropy: hapo.temperature: %w", err)
	}
	if !(c.Tau >= 0 && c.Tau < 1) {
		return fmt.Errorf("entropy: hapo.temperature_tau %v must lie in [0, 1)", c.Tau)
	}
	if !(c.Pivot >= 0 && c.Pivot <= 1) {
		return fmt.Errorf("entropy: hapo.entropy_pivot %v must lie in [0, 1]", c.Pivot)
	}
	if !(c.StatsEps > 0) || !(c.SampleEps > 0) {
		return fmt.Errorf("entropy: hapo.stats_eps %v and sample_eps %v must be positive", c.StatsEps, c.SampleEps)
	}
	if c.Mode != Signed && c.Mode != AsReleased {
		return fmt.Errorf("entropy: hapo.hhat_mode %q is not a mode (known: as_released, signed)", string(c.Mode))
	}
	return nil
}

// AdaptiveTemperature is HAPO's per-token sampling temperature (ATS, §10.2).
// Stats for rollout step k come from ComputeEntropyH on the old-policy
// entropies of step k−1's training batch (SetStats / Observe); until then the
// constant T is used. At each decoding step, from the sampler's
// pre-temperature logits:
//
//	H = H(softmax(z));  ℓ = ln max(H, 1e−6);  h = (ℓ − μ)/(s + 1e−6)
//	ĥ = clamp(h·scale_pos if h > 0 else h·scale_neg, −1, 1)
//	T_tok = T · (1 + τ·ĥ)
//
// Signed mode gives T_tok ∈ [T(1−τ), T(1+τ)]; as released, [T, T(1+τ)]. The
// methods only read the receiver, so one value may serve concurrent samplers
// between updates. starriver030515/HAPO sampler.
type AdaptiveTemperature struct {
	Cfg   HAPOTemperatureConfig
	Stats HAPOStats
	Ready bool // stats set; false: return Cfg.Temperature
	hhat  [][]float64
}

// NewAdaptiveTemperature validates cfg; the first step uses the constant T.
func NewAdaptiveTemperature(cfg HAPOTemperatureConfig) (*AdaptiveTemperature, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AdaptiveTemperature{Cfg: cfg}, nil
}

// Observe recomputes the stats from a finished step's old-policy entropies.
func (a *AdaptiveTemperature) Observe(entropy, mask [][]float64) error {
	var err error
	var st HAPOStats
	a.hhat, st, err = ComputeEntropyH(a.hhat, entropy, mask, a.Cfg.Pivot, a.Cfg.StatsEps, a.Cfg.Mode)
	if err != nil {
		return err
	}
	a.Stats, a.Ready = st, true
	return nil
}

// HHat returns h and the clamped ĥ for a decoding-time entropy H.
func (a *AdaptiveTemperature) HHat(ent float64) (h, hhat float64) {
	eps := a.Cfg.SampleEps
	h = (math.Log(math.Max(ent, eps)) - a.Stats.Median) / (a.Stats.Std + eps)
	if h > 0 {
		hhat = h * a.Stats.ScalePos
	} else {
		hhat = h * a.Stats.ScaleNeg
	}
	return h, math.Min(math.Max(hhat, -1), 1)
}

// FromEntropy is T_tok for a token whose next-token entropy (at τ = 1) is ent.
func (a *AdaptiveTemperature) FromEntropy(ent float64) float64 {
	if !a.Ready {
		return a.Cfg.Temperature
	}
	_, hh := a.HHat(ent)
	return a.Cfg.Temperature * (1 + a.Cfg.Tau*hh)
}

// FromLogits is T_tok for one row of pre-temperature logits.
func (a *AdaptiveTemperature) FromLogits(row []float64) float64 {
	if !a.Ready {
		return a.Cfg.Temperature
	}
	return a.FromEntropy(TokenEntropy(row, 1))
}

// HAPOTemperatureState is the checkpointed state of AdaptiveTemperature.
type HAPOTemperatureState struct {
	Stats HAPOStats `json:"stats"`
	Ready bool      `json:"ready"`
}

// State returns the state for a checkpoint.
func (a *AdaptiveTemperature) State() HAPOTemperatureState {
	return HAPOTemperatureState{Stats: a.Stats, Ready: a.Ready}
}

// SetState restores a checkpointed state.
func (a *AdaptiveTemperature) SetState(s HAPOTemperatureState) { a.Stats, a.Ready = s.Stats, s.Ready }
