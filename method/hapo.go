package method

import (
	"encoding/json"

	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/rollout"
)

// newHAPOTemperature builds HAPO's adaptive per-token sampling temperature:
// from the second step each token is sampled at a temperature set by its
// entropy relative to the previous batch's (spec §10.2).
func newHAPOTemperature(c Config, _ *Recipe) (Part, error) {
	if !c.HAPOTemperature.Enabled {
		return nil, nil
	}
	t, err := entropy.NewAdaptiveTemperature(c.HAPOTemperature.HAPOTemperatureConfig)
	if err != nil {
		return nil, err
	}
	return &hapoTemperature{part: part{"hapo_temperature", AtSample | AtControl}, t: t}, nil
}

type hapoTemperature struct {
	part
	t *entropy.AdaptiveTemperature
}

// Sampling sets the per-token temperature once statistics exist; the old
// log-probs then come from a forward pass at the training temperature.
func (h *hapoTemperature) Sampling(s *rollout.Sampling) bool {
	if !h.t.Ready {
		return false
	}
	s.TokenTemp = h.t.FromEntropy
	return true
}

// Control takes the next step's statistics from this batch's old entropies.
func (h *hapoTemperature) Control(_ int, batch []*Sample, m map[string]float64) {
	if err := h.t.Observe(Rows(batch, func(s *Sample) []float64 { return s.OldEnt }), Masks(batch)); err == nil {
		m[metric.HAPOPivot] = h.t.State().Stats.Median
	}
}

func (h *hapoTemperature) SaveState() (json.RawMessage, error) { return h.t.SaveState() }
func (h *hapoTemperature) LoadState(b json.RawMessage) error   { return h.t.LoadState(b) }
