package method

import (
	"encoding/json"

	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
)

// newAEPO builds AEPO's pool and temperature controller, which come with
// its loss (loss.name aepo): a pool for the first quarter of the prompts at
// the controlled temperature, whose positive-advantage samples replace the
// first regular ones with advantage 1 (spec §4.2).
func newAEPO(c Config, _ *Recipe) (Part, error) {
	if !c.aepo() {
		return nil, nil
	}
	a, err := entropy.NewAEPO(c.AEPO)
	if err != nil {
		return nil, err
	}
	return &aepo{part: part{"aepo", AtSample | AtAdvantage | AtControl}, a: a, eps: c.AEPO.GRPOEps}, nil
}

type aepo struct {
	part
	a    *entropy.AEPO
	eps  float64
	pool map[*Sample]bool // this step's pool samples in the batch
}

func (p *aepo) Resample(gen Generator, s rollout.Sampling, probs []reward.Problem, regular []*Sample, m map[string]float64) ([]*Sample, error) {
	np := entropy.PoolPromptCount(len(probs))
	s.Temperature, s.TokenTemp = p.a.Temperature(), nil
	pool, err := gen(probs[:np], s)
	if err != nil {
		return nil, err
	}
	rew := make([]float64, len(pool))
	grp := make([]int, len(pool))
	for i, x := range pool {
		rew[i], grp[i] = x.Reward, x.Group
	}
	adv := entropy.PoolAdvantages(nil, rew, grp, p.eps)
	sel := p.a.Select(nil, adv)
	k := p.a.SampleNum(len(sel), len(regular))
	src := entropy.Assemble(nil, sel, k, len(regular))
	out := make([]*Sample, len(src))
	p.pool = map[*Sample]bool{}
	for i, sc := range src {
		if sc.Pool {
			x := pool[sc.Index]
			x.Group, x.Outside = -1-i, true // a group of its own for the estimator
			p.pool[x] = true
			out[i] = x
		} else {
			out[i] = regular[sc.Index]
		}
	}
	m[metric.AEPOSampleNum] = float64(k)
	return out, nil
}

// ShapeAdvantages gives the pool samples advantage 1 on every token.
func (p *aepo) ShapeAdvantages(batch []*Sample) {
	for _, s := range batch {
		if p.pool[s] {
			for j := range s.Adv {
				s.Adv[j] = 1
			}
		}
	}
}

// Control moves the temperature with the step's sampled-token NLL.
func (p *aepo) Control(_ int, _ []*Sample, m map[string]float64) {
	p.a.Update(m[metric.SampledNLL])
	m[metric.AEPOTemp] = p.a.Temperature()
}

func (p *aepo) SaveState() (json.RawMessage, error) { return p.a.SaveState() }
func (p *aepo) LoadState(b json.RawMessage) error   { return p.a.LoadState(b) }
