package policy

import (
	"fmt"
	"math"
	"sync"
)

// OptimConfig configures AdamW and its learning-rate schedule.
type OptimConfig struct {
	LR          float64 `json:"lr" mapstructure:"lr"`                       // peak learning rate
	Beta1       float64 `json:"beta1" mapstructure:"beta1"`                 // default 0.9
	Beta2       float64 `json:"beta2" mapstructure:"beta2"`                 // default 0.999
	Eps         float64 `json:"eps" mapstructure:"eps"`                     // default 1e-8
	WeightDecay float64 `json:"weight_decay" mapstructure:"weight_decay"`   // decoupled; matrices and embeddings only
	Warmup      int     `json:"warmup_steps" mapstructure:"warmup_steps"`   // linear warm-up from 0
	TotalSteps  int     `json:"total_steps" mapstructure:"total_steps"`     // cosine decay ends here; 0 = constant after warm-up
	MinLRRatio  float64 `json:"min_lr_ratio" mapstructure:"min_lr_ratio"`   // floor of the cosine, as a fraction of LR
	MaxGradNorm float64 `json:"max_grad_norm" mapstructure:"max_grad_norm"` // global-norm clip; 0 = off
}

// DefaultOptimConfig: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay
// 0.01, no warm-up, constant rate, clip at 1.0.
func DefaultOptimConfig() OptimConfig {
	return OptimConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, MaxGradNorm: 1}
}

// Validate names the first bad field.
func (c OptimConfig) Validate() error {
	switch {
	case !(c.LR > 0 && c.LR < 10):
		return fmt.Errorf("optim: lr = %v, want in (0, 10)", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: beta1 = %v, want in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: beta2 = %v, want in [0, 1)", c.Beta2)
	case !(c.Eps > 0):
		return fmt.Errorf("optim: eps = %v, want > 0", c.Eps)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fmt.Errorf("optim: weight_decay = %v, want in [0, 1)", c.WeightDecay)
	case c.Warmup < 0:
		return fmt.Errorf("optim: warmup_steps = %d, want >= 0", c.Warmup)
	case c.TotalSteps < 0:
		return fmt.Errorf("optim: total_steps = %d, want >= 0", c.TotalSteps)
	case !(c.MinLRRatio >= 0 && c.MinLRRatio <= 1):
		return fmt.Errorf("optim: min_lr_ratio = %v, want in [0, 1]", c.MinLRRatio)
	case !(c.MaxGradNorm >= 0):
		return fmt.Errorf("optim: max_grad_norm = %v, want >= 0", c.MaxGradNorm)
	}
	return nil
}

// LRAt is the learning rate of update number step (0-based): linear warm-up
// to LR over Warmup steps, then cosine decay to MinLRRatio*LR at TotalSteps.
func (c OptimConfig) LRAt(step int) float64 {
	if c.Warmup > 0 && step < c.Warmup {
		return c.LR * float64(step+1) / float64(c.Warmup)
	}
	if c.TotalSteps <= c.Warmup {
		return c.LR
	}
	p := float64(step-c.Warmup) / float64(c.TotalSteps-c.Warmup)
	if p > 1 {
		p = 1
	}
	min := c.MinLRRatio * c.LR
	return min + (c.LR-min)*0.5*(1+math.Cos(math.Pi*p))
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
//
//	m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//	w -= lr * (m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) + wd * w)
//
// Moments are float32 like the weights; Step counts updates taken.
type AdamW struct {
	Cfg  OptimConfig
	M, V [][]float32 // parallel to Weights.List
	Step int
}

// NewAdamW returns an optimizer with zero moments for w.
func NewAdamW(cfg OptimConfig, w *Weights) *AdamW {
	o := &AdamW{Cfg: cfg}
	for _, p := range w.List {
		o.M = append(o.M, make([]float32, len(p.Data)))
		o.V = append(o.V, make([]float32, len(p.Data)))
	}
	return o
}

// Update applies one AdamW step to w with grads and returns the rate used.
func (o *AdamW) Update(w *Weights, grads [][]float32) float64 {
	c := o.Cfg
	lr := c.LRAt(o.Step)
	o.Step++
	t := float64(o.Step)
	bc1 := 1 - math.Pow(c.Beta1, t)
	bc2 := 1 - math.Pow(c.Beta2, t)
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	stepSize := float32(lr / bc1)
	invBc2 := float32(1 / math.Sqrt(bc2))
	eps := float32(c.Eps)
	for i, p := range w.List {
		g, m, v, d := grads[i], o.M[i], o.V[i], p.Data
		decay := float32(1)
		if p.Decay {
			decay = float32(1 - lr*c.WeightDecay)
		}
		parallel(len(d), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				gj := g[j]
				m[j] = b1*m[j] + (1-b1)*gj
				v[j] = b2*v[j] + (1-b2)*gj*gj
				d[j] = d[j]*decay - stepSize*m[j]/(sqrt32(v[j])*invBc2+eps)
			}
		})
	}
	return lr
}

// parallel runs f over [0, n) in two halves on two goroutines when n is
// large enough to pay for it. Each element is touched by one goroutine, so
// results do not depend on the split.
func parallel(n int, f func(lo, hi int)) {
	if n < 1<<15 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f(n/2, n) }()
	f(0, n/2)
	wg.Wait()
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// StepStats describes one optimizer step.
type StepStats struct {
	GradNorm float64 // before clipping
	LR       float64
}

// Step clips the accumulated gradients by global norm, applies AdamW and
// zeroes the gradients, so nothing leaks into the next step. A non-finite
// gradient norm is an error and leaves the weights untouched.
func (m *Model) Step(opt *AdamW) (StepStats, error) {
	n, err := m.ClipGradNorm(opt.Cfg.MaxGradNorm)
	if err != nil {
		m.ZeroGrad()
		return StepStats{GradNorm: n}, err
	}
	lr := opt.Update(m.W, m.Grads)
	m.ZeroGrad()
	return StepStats{GradNorm: n, LR: lr}, nil
}
