package advantage

import (
	"fmt"
	"math"
)

// HAPOConfig configures hapo.
type HAPOConfig struct {
	Eps       float64 `mapstructure:"eps"`             // guards the std divisions; default 1e-6
	NormByStd bool    `mapstructure:"norm_adv_by_std"` // false: mean-only; default true
	// FallbackThreshold: a group with any |z| >= it uses GRPO advantages;
	// default 5; +Inf never falls back.
	FallbackThreshold float64 `mapstructure:"fallback_threshold"`
	// FallbackIncludePadding also tests the padded positions of the group's
	// tile, which carry score 0, as upstream does (default true); false
	// tests the valid tokens only.
	FallbackIncludePadding bool `mapstructure:"fallback_include_padding"`
}

// DefaultHAPOConfig returns the HAPO recipes' settings.
func DefaultHAPOConfig() HAPOConfig {
	return HAPOConfig{Eps: 1e-6, NormByStd: true, FallbackThreshold: 5, FallbackIncludePadding: true}
}

// Validate checks eps and the fallback threshold.
func (c HAPOConfig) Validate() error {
	if err := checkPositive("hapo.eps", c.Eps); err != nil {
		return err
	}
	if !(c.FallbackThreshold > 0) {
		return fmt.Errorf("advantage: hapo.fallback_threshold = %v, want a value > 0 (+Inf: never)", c.FallbackThreshold)
	}
	return nil
}

// HAPOGroup describes one group of the last HAPO estimate.
type HAPOGroup struct {
	ID        int     // group id as given in Input.Group
	TokenMean float64 // μ_k, token-weighted mean reward
	TokenStd  float64 // σ_k, population std over the group's tokens
	Tokens    float64 // Σ n_b, the group's valid tokens
	Fallback  bool    // the group used GRPO advantages
}

// HAPO is the Token-Level Group Average advantage (adv_estimator=hapo):
// every valid token of response b carries R_b, and the group is
// standardised over its tokens, so long responses weigh more.
//
//	n_b = Σ_t m[b][t]
//	μ_k = Σ_{b∈G_k} n_b·R_b / Σ n_b
//	σ_k = sqrt(Σ n_b·(R_b − μ_k)² / Σ n_b)          (population)
//	z_b = (R_b − μ_k)/(σ_k + eps)   (R_b − μ_k without NormByStd)
//	A[b][t] = z_b · m[b][t]
//
// Fallback: if any |z| >= FallbackThreshold in the group, the whole group
// uses the GRPO advantage of [GRPO] (unbiased, per response, same eps and
// scaling). Upstream tests the group's padded tile [n_g][T], whose padding
// carries score 0 (z = −μ_k/(σ_k + eps)), so shaped rewards far from 0
// trigger the fallback through the padding alone; FallbackIncludePadding
// (default, as upstream) keeps that, false tests the valid tokens only. The
// padded width T is the longest mask row of the batch: a row is padded
// when it is shorter or has a masked position. A group without valid
// tokens gets zeros and no fallback (upstream divides by zero there).
//
// Liu et al. (2025), HAPO, arXiv 2509.16591; verl/trainer/ppo/core_algos.py
// in starriver030515/HAPO @ 7671dde.
type HAPO struct {
	cfg    HAPOConfig
	s      groupStats
	n      []float64   // [B] tokens per response
	pad    []bool      // [B] row has padding
	groups []HAPOGroup // [K]
	gpad   []bool      // [K] tile has padding
	seq    []float64   // [B] z_b or GRPO a_b
	grpo   []float64   // [B]
}

var _ Estimator = (*HAPO)(nil)

// NewHAPO returns a HAPO estimator; it errors on an invalid config.
func NewHAPO(cfg HAPOConfig) (*HAPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &HAPO{cfg: cfg}, nil
}

func newHAPO(cfg Config) (Estimator, error) { return NewHAPO(cfg.HAPO) }

// Needs reports the group ids.
func (h *HAPO) Needs() Needs { return Needs{Group: true} }

// Groups returns the per-group statistics of the last successful Estimate,
// in order of first appearance; the slice is reused by the next call.
func (h *HAPO) Groups() []HAPOGroup { return h.groups }

// Estimate writes A[b][t] into dst and records the group statistics.
func (h *HAPO) Estimate(dst [][]float64, in Input) error {
	if err := checkInput("hapo", in, true, h.Needs()); err != nil {
		return err
	}
	if err := fitDst("hapo", dst, in.Mask); err != nil {
		return err
	}
	B := len(in.Mask)
	width := 0
	for _, row := range in.Mask {
		width = max(width, len(row))
	}
	h.n = grow(h.n, B)
	h.pad = grow(h.pad, B)
	for b, row := range in.Mask {
		n, pad := 0.0, len(row) < width
		for _, m := range row {
			n += m
			pad = pad || m == 0
		}
		h.n[b], h.pad[b] = n, pad
	}

	K := h.s.build(in.Group)
	h.groups = grow(h.groups, K)
	h.gpad = grow(h.gpad, K)
	for k := range K {
		h.groups[k] = HAPOGroup{ID: h.s.ids[k]}
		h.gpad[k] = false
	}
	for b, r := range in.Rewards {
		g := &h.groups[h.s.of[b]]
		g.Tokens += h.n[b]
		g.TokenMean += h.n[b] * r
		h.gpad[h.s.of[b]] = h.gpad[h.s.of[b]] || h.pad[b]
	}
	for k := range K {
		if g := &h.groups[k]; g.Tokens > 0 {
			g.TokenMean /= g.Tokens
		}
	}
	for b, r := range in.Rewards {
		g := &h.groups[h.s.of[b]]
		d := r - g.TokenMean
		g.TokenStd += h.n[b] * d * d
	}
	for k := range K {
		if g := &h.groups[k]; g.Tokens > 0 {
			g.TokenStd = math.Sqrt(g.TokenStd / g.Tokens)
		}
	}

	h.seq = grow(h.seq, B)
	thr := h.cfg.FallbackThreshold
	for b, r := range in.Rewards {
		k := h.s.of[b]
		g := &h.groups[k]
		if g.Tokens == 0 {
			h.seq[b] = 0
			continue
		}
		z := h.z(r, g)
		h.seq[b] = z
		if h.n[b] > 0 && math.Abs(z) >= thr {
			g.Fallback = true
		}
	}
	fallback := false
	for k := range K {
		g := &h.groups[k]
		if g.Tokens > 0 && h.cfg.FallbackIncludePadding && h.gpad[k] && math.Abs(h.z(0, g)) >= thr {
			g.Fallback = true
		}
		fallback = fallback || g.Fallback
	}
	if fallback {
		h.grpo = grow(h.grpo, B)
		grpoSeq(h.grpo, in.Rewards, in.Group, &h.s, h.cfg.Eps, h.cfg.NormByStd)
		for b := range B {
			if h.groups[h.s.of[b]].Fallback {
				h.seq[b] = h.grpo[b]
			}
		}
	}
	broadcast(dst, h.seq, in.Mask)
	return nil
}

// z standardises a score against the group's token statistics.
func (h *HAPO) z(r float64, g *HAPOGroup) float64 {
	if h.cfg.NormByStd {
		return (r - g.TokenMean) / (g.TokenStd + h.cfg.Eps)
	}
	return r - g.TokenMean
}
