package method

import "github.com/entrolab/entrolab/entropy"

// newEMRL builds EM-RL's reward: the negative entropy of each completion
// replaces the task reward (no labels).
func newEMRL(c Config, _ *Recipe) (Part, error) {
	if !c.EMRL.Enabled {
		return nil, nil
	}
	return &emrl{part: part{"em_rl", AtShapeReward}, cfg: c.EMRL.EMConfig}, nil
}

type emrl struct {
	part
	cfg entropy.EMConfig
}

func (e *emrl) ShapeRewards(batch []*Sample, _ map[string]float64) error {
	lp := Rows(batch, func(s *Sample) []float64 { return s.Old })
	ent := Rows(batch, func(s *Sample) []float64 { return s.OldEnt })
	r := entropy.EMRLRewards(nil, e.cfg, lp, ent, Masks(batch))
	for i, s := range batch {
		s.Reward = r[i]
	}
	return nil
}
