package clip

import (
	"fmt"
	"math"
)

// KLCovConfig configures KL-Cov (name "kl_cov").
type KLCovConfig struct {
	KLCovRatio float64 `mapstructure:"kl_cov_ratio"` // κ, a fraction (EM's k_percent/100); default 2e-4
	PPOKLCoef  float64 `mapstructure:"ppo_kl_coef"`  // β; default 0.1 (verl yaml; paper/EM scripts: 1)
	StatsRows  int     `mapstructure:"stats_rows"`   // rows per statistics scope; 0 = the whole Input
}

// DefaultKLCovConfig returns verl's actor.yaml defaults: κ = 2e-4, β = 0.1.
// The paper and the EM scripts use β = 1 with κ = 2e-3 (7B) or 2e-4 (32B).
func DefaultKLCovConfig() KLCovConfig {
	return KLCovConfig{KLCovRatio: 2e-4, PPOKLCoef: 0.1}
}

// Validate names the offending key.
func (c KLCovConfig) Validate() error {
	if !(c.KLCovRatio >= 0 && c.KLCovRatio <= 1) {
		return fmt.Errorf("clip: kl_cov: kl_cov_ratio %v must be a fraction in [0, 1]", c.KLCovRatio)
	}
	if !(c.PPOKLCoef >= 0) || math.IsInf(c.PPOKLCoef, 0) {
		return fmt.Errorf("clip: kl_cov: ppo_kl_coef %v must be finite and >= 0", c.PPOKLCoef)
	}
	if c.StatsRows < 0 {
		return fmt.Errorf("clip: kl_cov: stats_rows %d must be >= 0 (0 = whole input)", c.StatsRows)
	}
	return nil
}

// KLCov is the unclipped surrogate plus an |Δ| penalty on the top-k tokens
// by centred covariance. Spec §7.
//
//	Δ = logp − oldLogp,  r = exp(Δ)          (no clipping of any kind)
//	cov = (A − mean_V A)·(sg(logp) − mean_V sg(logp))   (plain means over valid V)
//	k = max(1, ⌊N·κ⌋);  S = top-k by cov (ties: smaller row-major index)
//	ℓ = −A·r + β·|Δ|·[t∈S],  L = Agg(ℓ, m)
//	γ = −A·r + β·sign(Δ)·[t∈S],  sign(0) = 0
//
// On-policy (Δ = 0) the penalty's gradient is exactly 0. Statistics are per
// scope of StatsRows rows; upstream computes them per micro-batch.
//
// Metrics: pg_loss; ppo_kl = ppo_kl_abs = mean_m|Δ| (verl reports the
// absolute value under ppo_kl for this loss); pg_clipfrac = 0 (no clipping);
// n_valid, k (summed over scopes), n_selected.
//
// Cui et al. (2025) arXiv 2505.22617. Code: PRIME-RL/Entropy-Mechanism-of-RL
// and volcengine/verl compute_policy_loss_kl_cov @ b178a3c (verl's
// kl_cov_ratio is a fraction; EM's k_percent is a percentage).
type KLCov struct {
	cfg   KLCovConfig
	agg   Agg
	w     []float64
	cands []keyed
	sel   []keyed
}

var _ Loss = (*KLCov)(nil)

// NewKLCov validates cfg and agg.
func NewKLCov(cfg KLCovConfig, agg Agg) (*KLCov, error) {
	if err := validate(cfg, agg); err != nil {
		return nil, err
	}
	return &KLCov{cfg: cfg, agg: agg}, nil
}

// Needs reports that KL-Cov reads only the required fields.
func (k *KLCov) Needs() Needs { return Needs{} }

// Compute implements Loss.
func (k *KLCov) Compute(dst [][]float64, in Input) (Result, error) {
	dst, w, err := begin(dst, in, Needs{}, k.agg, k.w)
	if err != nil {
		return Result{}, err
	}
	k.w = w
	tr := in.Trace
	if tr != nil {
		tr.Cov = growLike(tr.Cov, in.Logp)
		tr.Selected = zeroedLike(tr.Selected, in.Logp)
		tr.SelectedList = tr.SelectedList[:0]
	}

	k.sel = k.sel[:0]
	kSum := 0
	scopes(len(in.Logp), k.cfg.StatsRows, func(r0, r1 int) {
		n, sa, sl := scopeSums(in, r0, r1)
		if n == 0 {
			if tr != nil {
				for b := r0; b < r1; b++ {
					zeroRow(tr.Cov[b])
				}
			}
			return
		}
		aMean, lMean := sa/float64(n), sl/float64(n)
		k.cands = k.cands[:0]
		for b := r0; b < r1; b++ {
			logp, adv, mask := in.Logp[b], in.Adv[b], in.Mask[b]
			for t := range logp {
				if mask[t] == 0 {
					if tr != nil {
						tr.Cov[b][t] = 0
					}
					continue
				}
				cov := (adv[t] - aMean) * (logp[t] - lMean)
				// Descending cov as ascending key; -(+0) and -(-0) compare equal.
				k.cands = append(k.cands, keyed{key: -cov, b: int32(b), t: int32(t)})
				if tr != nil {
					tr.Cov[b][t] = cov
				}
			}
		}
		kk := min(max(1, int(float64(n)*k.cfg.KLCovRatio)), n)
		kSum += kk
		k.sel = append(k.sel, smallestK(k.cands, kk)...)
	})

	beta := k.cfg.PPOKLCoef
	absKL, n, next := 0.0, 0, 0
	loss := sumTokens(dst, in, w, func(b, t int) (float64, float64, float64, Region) {
		d := in.Logp[b][t] - in.OldLogp[b][t]
		r := math.Exp(d)
		a := in.Adv[b][t]
		l := -a * r
		gm := l
		reg := RegionUnclipped
		if a == 0 {
			reg = RegionZeroAdv
		}
		sel := next < len(k.sel) && int(k.sel[next].b) == b && int(k.sel[next].t) == t
		if sel {
			next++
			l += beta * math.Abs(d)
			switch {
			case d > 0:
				gm += beta
			case d < 0:
				gm -= beta
			}
		}
		n++
		absKL += math.Abs(d)
		if tr != nil && sel {
			tr.Selected[b][t] = true
			tr.SelectedList = append(tr.SelectedList, [2]int{b, t})
		}
		return l, gm, r, reg
	})
	den := maskedMeanDen(n)
	return Result{Loss: loss, Grad: dst, Metrics: map[string]float64{
		"pg_loss":     loss,
		"pg_clipfrac": 0,
		"ppo_kl":      absKL / den,
		"ppo_kl_abs":  absKL / den,
		"n_valid":     float64(n),
		"k":           float64(kSum),
		"n_selected":  float64(len(k.sel)),
	}}, nil
}
