package advantage

import "fmt"

// GRPOConfig configures grpo (and dr_grpo, which reads only Eps).
type GRPOConfig struct {
	Eps        float64 `mapstructure:"eps"`          // guards the std division; default 1e-6 (verl; TRL uses 1e-4)
	ScaleByStd bool    `mapstructure:"scale_by_std"` // false: mean-only (Dr. GRPO); default true
}

// DefaultGRPOConfig returns verl's defaults: eps 1e-6, scaled by the std.
func DefaultGRPOConfig() GRPOConfig { return GRPOConfig{Eps: 1e-6, ScaleByStd: true} }

// Validate checks that eps is finite and positive.
func (c GRPOConfig) Validate() error { return checkPositive("grpo.eps", c.Eps) }

// GRPO gives each response its reward standardised within its group:
//
//	a_b = (R_b − μ_k) / (σ_k + eps)     (ScaleByStd, GRPO)
//	a_b =  R_b − μ_k                    (Dr. GRPO)
//	A[b][t] = a_b · m[b][t]
//
// with μ_k the mean and σ_k the unbiased (÷(n−1)) std of the rewards of
// group k = Group[b]. As in verl, a group of one uses μ = 0 and σ = 1, so
// a = R/(1+eps) (R without scaling); TRL has no such case. A group whose
// rewards are all equal gets exactly 0 (upstream gives 0 up to rounding).
//
// Shao et al. (2024), DeepSeekMath, arXiv 2402.03300; Liu et al. (2025),
// Dr. GRPO, arXiv 2503.20783; verl compute_grpo_outcome_advantage
// (volcengine/verl @ b178a3c).
type GRPO struct {
	cfg  GRPOConfig
	name string
	s    groupStats
	seq  []float64
}

var (
	_ Estimator = (*GRPO)(nil)
	_ Sequencer = (*GRPO)(nil)
)

// NewGRPO returns a GRPO estimator; it errors on an invalid config.
func NewGRPO(cfg GRPOConfig) (*GRPO, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	name := "grpo"
	if !cfg.ScaleByStd {
		name = "dr_grpo"
	}
	return &GRPO{cfg: cfg, name: name}, nil
}

func newGRPO(cfg Config) (Estimator, error) { return NewGRPO(cfg.GRPO) }

// newDrGRPO is grpo with ScaleByStd forced off; grpo.scale_by_std is ignored.
func newDrGRPO(cfg Config) (Estimator, error) {
	c := cfg.GRPO
	c.ScaleByStd = false
	return NewGRPO(c)
}

// Needs reports the group ids.
func (g *GRPO) Needs() Needs { return Needs{Group: true} }

// Sequence writes a_b into dst[:B].
func (g *GRPO) Sequence(dst []float64, in Input) error {
	if err := checkInput(g.name, in, true, g.Needs()); err != nil {
		return err
	}
	if len(dst) < len(in.Mask) {
		return fmt.Errorf("advantage: %s: dst has %d values, want %d", g.name, len(dst), len(in.Mask))
	}
	grpoSeq(dst, in.Rewards, in.Group, &g.s, g.cfg.Eps, g.cfg.ScaleByStd)
	return nil
}

// Estimate writes A[b][t] = a_b·m[b][t] into dst.
func (g *GRPO) Estimate(dst [][]float64, in Input) error {
	if err := fitDst(g.name, dst, in.Mask); err != nil {
		return err
	}
	g.seq = grow(g.seq, len(in.Mask))
	if err := g.Sequence(g.seq, in); err != nil {
		return err
	}
	broadcast(dst, g.seq, in.Mask)
	return nil
}
