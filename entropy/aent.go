package entropy

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/internal/kern"
	"github.com/entrolab/entrolab/masked"
)

// AEntConfig configures AEnt's clamped-entropy regularizer ("aent") and its
// coefficient controller (AEntCoef). Defaults are the AReaL recipe yaml
// (recipe/AEnt/configs/gsm8k_aent_grpo.yaml); aent_args.py's dataclass
// defaults differ (c 0.001, p 0.2, band [0.1, 0.5], box high 0.01, warm-up 0)
// and the antgroup README uses p = 0.3, c = 0.0002.
type AEntConfig struct {
	Coef          float64 `mapstructure:"coef"`           // entropy_coeff c (initial, when adaptive); default 0.0002
	Clamp         float64 `mapstructure:"clamp"`          // entropy_clamp p ∈ [0, 1): drop int(V·p) lowest logits; default 0.4
	AdaptiveCoeff bool    `mapstructure:"adaptive_coeff"` // run AEntCoef; default false
	EntropyLow    float64 `mapstructure:"entropy_low"`    // H_low; default 0.05
	EntropyHigh   float64 `mapstructure:"entropy_high"`   // H_high; default 0.23
	CoeffLR       float64 `mapstructure:"coeff_lr"`       // η_c; default 0.001
	CoeffBoxLow   float64 `mapstructure:"coeff_box_low"`  // default 1e-5
	CoeffBoxHigh  float64 `mapstructure:"coeff_box_high"` // default 0.003
	WarmupSteps   int     `mapstructure:"warmup_steps"`   // update only when global_step > warmup_steps; default 29
}

// DefaultAEntConfig returns the AReaL recipe's settings.
func DefaultAEntConfig() AEntConfig {
	return AEntConfig{
		Coef: 0.0002, Clamp: 0.4, AdaptiveCoeff: false,
		EntropyLow: 0.05, EntropyHigh: 0.23, CoeffLR: 0.001,
		CoeffBoxLow: 1e-5, CoeffBoxHigh: 0.003, WarmupSteps: 29,
	}
}

// Validate names the offending key.
func (c AEntConfig) Validate() error {
	for _, kv := range []struct {
		k string
		v float64
	}{{"coef", c.Coef}, {"entropy_low", c.EntropyLow}, {"entropy_high", c.EntropyHigh}, {"coeff_lr", c.CoeffLR}, {"coeff_box_low", c.CoeffBoxLow}, {"coeff_box_high", c.CoeffBoxHigh}} {
		if math.IsNaN(kv.v) || math.IsInf(kv.v, 0) {
			return fmt.Errorf("entropy: aent.%s %v must be finite", kv.k, kv.v)
		}
	}
	if !(c.Clamp >= 0 && c.Clamp < 1) {
		return fmt.Errorf("entropy: aent.clamp %v must lie in [0, 1) (1 removes every token)", c.Clamp)
	}
	if c.EntropyLow > c.EntropyHigh {
		return fmt.Errorf("entropy: aent.entropy_low %v must not exceed aent.entropy_high %v", c.EntropyLow, c.EntropyHigh)
	}
	if c.CoeffBoxLow > c.CoeffBoxHigh {
		return fmt.Errorf("entropy: aent.coeff_box_low %v must not exceed aent.coeff_box_high %v", c.CoeffBoxLow, c.CoeffBoxHigh)
	}
	if c.CoeffLR < 0 {
		return fmt.Errorf("entropy: aent.coeff_lr %v must be ≥ 0", c.CoeffLR)
	}
	if c.WarmupSteps < 0 {
		return fmt.Errorf("entropy: aent.warmup_steps %d must be ≥ 0", c.WarmupSteps)
	}
	return nil
}

// ClampK is the number of removed tokens, k = int(V·p), computed in float64
// and truncated exactly as AReaL does (12·0.3 = 3.5999… gives 3).
func ClampK(v int, p float64) int { return int(float64(v) * p) }

// KeepSet marks in keep (length V) the tokens that survive removing the k
// smallest logits of row; the choice carries no gradient. Among logits tied
// at the k-th smallest value the lower indices are removed first (torch.topk
// breaks such ties arbitrarily). scratch needs length V. It panics if keep
// or scratch is shorter than row.
func KeepSet(keep []bool, row []float64, k int, scratch []float64) {
	keep = keep[:len(row)]
	if k <= 0 {
		for v := range keep {
			keep[v] = true
		}
		return
	}
	if k >= len(row) {
		clear(keep)
		return
	}
	buf := scratch[:len(row)]
	copy(buf, row)
	thr := masked.NthSmallest(buf, k-1)
	less := 0
	for _, z := range row {
		if z < thr {
			less++
		}
	}
	tiesToDrop := k - less
	for v, z := range row {
		switch {
		case z < thr:
			keep[v] = false
		case z == thr && tiesToDrop > 0:
			keep[v] = false
			tiesToDrop--
		default:
			keep[v] = true
		}
	}
}

// ClampedEntropyGrad is AEnt's clamped entropy of one logits row: the policy
// re-normalised on the kept set S,
//
//	q_v = exp(u_v) / Σ_{w∈S} exp(u_w),  u = z/τ,   H^c = −Σ_{v∈S} q_v log q_v
//	∂H^c/∂z_v = −(1/τ) · q_v · (log q_v + H^c) for v ∈ S, 0 otherwise
//
// It writes the gradient into dst when dst is non-nil and returns H^c.
// inclusionAI/AReaL recipe/AEnt/functional.py clamped_softmax_entropy.
func ClampedEntropyGrad(dst, row []float64, keep []bool, tau float64) float64 {
	zmax := math.Inf(-1)
	for v, z := range row {
		if keep[v] && z > zmax {
			zmax = z
		}
	}
	if dst != nil {
		dst = dst[:len(row)]
	}
	inv := 1 / tau
	var s, a float64
	var buf [256]float64
	if ex := dst; !math.IsInf(zmax, 0) && (ex != nil || len(row) <= len(buf)) {
		// all exponentials in one vector pass, then the kept ones summed
		if ex == nil {
			ex = buf[:len(row)]
		}
		kern.ExpRow64(ex, row, zmax, inv)
		// masked sums without data-dependent branches (the kept set is
		// irregular); d is floored where exp is already exactly 0, so 0·d = 0
		for v, z := range row {
			e := ex[v] * float64(b2i(keep[v]))
			ex[v] = e
			s += e
			a += e * max((z-zmax)*inv, -745)
		}
	} else {
		for v, z := range row {
			e := 0.0
			if keep[v] {
				d := (z - zmax) * inv
				e = math.Exp(d)
				if e != 0 {
					s += e
					a += e * d
				}
			}
			if dst != nil {
				dst[v] = e
			}
		}
	}
	logS := math.Log(s)
	h := logS - a/s
	if dst == nil {
		return h
	}
	invS := 1 / s
	for v, z := range row {
		e := dst[v] // 0 outside the kept set and where exp underflowed
		lq := max((z-zmax)*inv, -745) - logS
		dst[v] = -inv * e * invS * (lq + h)
	}
	return h
}

// Clamped is the "aent" regularizer (H. Shen, "On Entropy Control in LLM-RL
// Algorithms", arXiv 2509.03493; AReaL recipe/AEnt actor.py):
//
//	L = −c · H̄^c,   H̄^c = Σ_valid H^c / #valid      (token-mean, as AReaL's global token weighting)
//	∂L/∂z[b,t,v] = −c · m/#valid · ∂H^c[b,t]/∂z_v
//
// with H^c from ClampedEntropyGrad on the tokens left after dropping the
// k = int(V·p) smallest tempered logits. p = 0 is the ordinary entropy.
// Metrics: entropy/clamped_token_mean, entropy/token_mean (full entropy),
// entropy/valid_tokens, entropy/coef, entropy/loss. The coefficient comes from
// AEntCoef through SetCoef when adaptive_coeff is on.
type Clamped struct {
	Cfg     AEntConfig
	keep    []bool
	scratch []float64
}

var (
	_ Regularizer = (*Clamped)(nil)
	_ Tunable     = (*Clamped)(nil)
)

func newClamped(cfg Config) (Regularizer, error) { return NewClamped(cfg.AEnt), nil }

// NewClamped builds the regularizer; cfg is assumed validated.
func NewClamped(cfg AEntConfig) *Clamped { return &Clamped{Cfg: cfg} }

// Needs reads nothing optional.
func (*Clamped) Needs() Needs { return Needs{} }

// SetCoef sets c.
func (r *Clamped) SetCoef(c float64) { r.Cfg.Coef = c }

// Regularize computes −c·H̄^c and its logits gradient.
func (r *Clamped) Regularize(dst [][][]float64, in Input) (Output, error) {
	if err := checkTemperature(in.Temperature); err != nil {
		return Output{}, err
	}
	checkLogits(in.Logits, in.Mask)
	dst = ensure3(dst, in.Logits)
	n := countValid(in.Mask)
	w := 0.0
	if n > 0 {
		w = -r.Cfg.Coef / n
	}
	var sumC, sumF float64
	for b, row := range in.Mask {
		for t := range dst[b] {
			out := dst[b][t]
			if t >= len(row) || row[t] == 0 {
				clear(out)
				continue
			}
			z := in.Logits[b][t]
			if cap(r.keep) < len(z) {
				r.keep = make([]bool, len(z))
				r.scratch = make([]float64, len(z))
			}
			keep := r.keep[:len(z)]
			KeepSet(keep, z, ClampK(len(z), r.Cfg.Clamp), r.scratch)
			h := ClampedEntropyGrad(out, z, keep, in.Temperature)
			g := w * row[t]
			for v := range out {
				out[v] *= g
			}
			sumC += row[t] * h
			sumF += row[t] * TokenEntropy(z, in.Temperature)
		}
	}
	mean, full := 0.0, 0.0
	if n > 0 {
		mean, full = sumC/n, sumF/n
	}
	loss := -r.Cfg.Coef * mean
	return Output{Loss: loss, Grad: dst, Metrics: map[string]float64{
		"entropy/clamped_token_mean": mean,
		"entropy/token_mean":         full,
		"entropy/valid_tokens":       n,
		"entropy/coef":               r.Cfg.Coef,
		"entropy/loss":               loss,
	}}, nil
}

// AEntCoefState is the checkpointed state of AEntCoef.
type AEntCoefState struct {
	Coef float64 `json:"entropy_coeff"`
}

// AEntCoef is AEnt's coefficient controller. Once per training step, after
// the policy update, if adaptive_coeff is on and global_step > warmup_steps
// (0-based):
//
//	c ← c − η_c · [ min(0, H̄ − H_low) + max(0, H̄ − H_high) ]
//	c ← clip(c, c_box_low, c_box_high)
//
// H̄ is the step's clamped-entropy token-mean. Inside the band c is unchanged;
// the box applies only when an update runs, so an initial c outside the box
// survives the warm-up. The new c is used from the next step.
// AReaL recipe/AEnt/actor.py aent_ppo_update.
type AEntCoef struct {
	cfg AEntConfig
	st  AEntCoefState
}

var _ CoefController = (*AEntCoef)(nil)

// NewAEntCoef starts from cfg.Coef.
func NewAEntCoef(cfg AEntConfig) *AEntCoef {
	return &AEntCoef{cfg: cfg, st: AEntCoefState{Coef: cfg.Coef}}
}

// Coef is the current coefficient.
func (a *AEntCoef) Coef() float64 { return a.st.Coef }

// Metric names the "aent" metrics Update reads.
func (*AEntCoef) Metric() (mean, tokens string) {
	return "entropy/clamped_token_mean", "entropy/valid_tokens"
}

// Update runs the rule with the step's clamped-entropy mean h at 0-based
// global step.
func (a *AEntCoef) Update(h float64, step int) {
	if !a.cfg.AdaptiveCoeff || step <= a.cfg.WarmupSteps {
		return
	}
	c := a.st.Coef - a.cfg.CoeffLR*(min(0, h-a.cfg.EntropyLow)+max(0, h-a.cfg.EntropyHigh))
	a.st.Coef = min(max(c, a.cfg.CoeffBoxLow), a.cfg.CoeffBoxHigh)
}

// State returns the state for a checkpoint.
func (a *AEntCoef) State() AEntCoefState { return a.st }

// SetState restores a checkpointed state.
func (a *AEntCoef) SetState(s AEntCoefState) { a.st = s }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
