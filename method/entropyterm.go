package method

import (
	"encoding/json"

	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/metric"
)

// newEntropyTerm builds the entropy regularizer on the logits and, when it
// has one, the controller of its coefficient (adaptive_bonus: TRL's
// Skywork-style target; aent: AEnt's band). "none" builds nothing.
func newEntropyTerm(c Config, _ *Recipe) (Part, error) {
	reg, err := entropy.New(c.Entropy)
	if err != nil {
		return nil, err
	}
	if _, none := reg.(entropy.None); none {
		return nil, nil
	}
	coef, err := entropy.NewCoefController(c.Entropy)
	if err != nil {
		return nil, err
	}
	t := &entropyTerm{part: part{"entropy_coef", AtLoss}, reg: reg, coef: coef}
	if coef != nil {
		t.phases |= AtControl
		return &controlledEntropyTerm{t}, nil
	}
	return t, nil
}

type entropyTerm struct {
	part
	reg  entropy.Regularizer
	coef entropy.CoefController // nil: a fixed coefficient
}

// LogitTerm applies the controller's coefficient and the regularizer; its
// loss is recorded as actor/entropy_loss.
func (e *entropyTerm) LogitTerm(in entropy.Input) (entropy.Output, error) {
	if tu, ok := e.reg.(entropy.Tunable); ok && e.coef != nil {
		tu.SetCoef(e.coef.Coef())
	}
	out, err := e.reg.Regularize(nil, in)
	if err != nil {
		return out, err
	}
	met := make(map[string]float64, len(out.Metrics)+1)
	for k, v := range out.Metrics {
		met[k] = v
	}
	met[metric.EntropyLoss] = out.Loss
	out.Metrics = met
	return out, nil
}

// controlledEntropyTerm is an entropyTerm whose coefficient a controller moves.
type controlledEntropyTerm struct{ *entropyTerm }

// Control updates the coefficient from the entropy its controller reads
// (actor/entropy when the regularizer did not report it).
func (e *controlledEntropyTerm) Control(step int, _ []*Sample, m map[string]float64) {
	meanKey, _ := e.coef.Metric()
	h, ok := m[meanKey]
	if !ok {
		h = m[metric.Entropy]
	}
	e.coef.Update(h, step)
	m[metric.EntropyCoef] = e.coef.Coef()
}

func (e *controlledEntropyTerm) SaveState() (json.RawMessage, error) { return e.coef.SaveState() }
func (e *controlledEntropyTerm) LoadState(b json.RawMessage) error   { return e.coef.LoadState(b) }
