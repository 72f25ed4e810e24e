package method

import (
	"encoding/json"
	"fmt"

	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/pg"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
)

// Phase is a bit set of the step's phases, in data order.
type Phase uint16

// The phases of a step. The trainer runs each selected part at the phases
// it declares, in the order Build lists the parts.
const (
	AtSample       Phase = 1 << iota // adjust the rollout's settings, or rebuild its batch (Sampler, Resampler)
	AtShapeReward                    // change the rewards the estimator sees (RewardShaper)
	AtAdvantage                      // change the estimated advantages (AdvantageShaper)
	AtSelectTokens                   // narrow the tokens in the loss (TokenSelector)
	AtLoss                           // add a term to the policy loss (LogpTerm, LogitTerm)
	AtControl                        // once per step after the update, with saved state (Controller)
)

// Part is one piece of a method at one or more phases. It implements the
// interface of each phase it declares (Build checks).
type Part interface {
	Name() string  // the part's name; also its key in a checkpoint's controller state
	Phases() Phase // where it acts
}

// Sample is one completion moving through a step.
type Sample struct {
	Prob    reward.Problem
	Prompt  []int32
	Seq     rollout.Sequence
	Group   int  // the group the estimator sees: the prompt's index in the step, or a unique id outside them
	Outside bool // not one of the step's prompt groups (AEPO's pool): no group statistics, no reference pairing
	Score   reward.Score
	Reward  float64 // the outcome reward (after the ShapeReward parts)
	// TokenReward holds per-token rewards the ShapeReward parts add (nil:
	// none): the outcome estimators see Reward + Σ TokenReward, the
	// token-reward ones see them on their tokens. [n]
	TokenReward []float64
	Adv         []float64 // [n] per completion token
	Old         []float64 // [n] old log-probs
	OldEnt      []float64 // [n] old entropies
	Ref         []float64 // [n] reference log-probs (when a part reads them)
	Mask        []float64 // [n] 1 = in the loss
	Before      []float32 // [n*V] logits before the update (diagnostic)
}

// EstimatorReward is the outcome reward an outcome estimator sees: Reward
// plus the row sum of TokenReward, as verl sums token-level rewards.
func (s *Sample) EstimatorReward() float64 {
	r := s.Reward
	for _, x := range s.TokenReward {
		r += x
	}
	return r
}

// N is the completion's token count.
func (s *Sample) N() int { return len(s.Seq.Tokens) }

// Rows gathers one row per sample.
func Rows(batch []*Sample, f func(*Sample) []float64) [][]float64 {
	out := make([][]float64, len(batch))
	for i, s := range batch {
		out[i] = f(s)
	}
	return out
}

// Masks is each sample's Mask.
func Masks(batch []*Sample) [][]float64 {
	return Rows(batch, func(s *Sample) []float64 { return s.Mask })
}

// Generator samples s.N completions for each problem, scored.
type Generator func(probs []reward.Problem, s rollout.Sampling) ([]*Sample, error)

// Sampler adjusts the step's rollout settings (phase Sample). It reports
// whether the old log-probs must then come from a forward pass at the
// training temperature rather than from the sampler.
type Sampler interface {
	Part
	Sampling(s *rollout.Sampling) (recompute bool)
}

// Resampler may replace the regular batch (phase Sample) using gen for more
// completions; the old log-probs of the result are always recomputed.
type Resampler interface {
	Part
	Resample(gen Generator, s rollout.Sampling, probs []reward.Problem, batch []*Sample, m map[string]float64) ([]*Sample, error)
}

// RewardShaper changes Sample.Reward after scoring (phase ShapeReward).
type RewardShaper interface {
	Part
	ShapeRewards(batch []*Sample, m map[string]float64) error
}

// AdvantageShaper changes Sample.Adv after estimation (phase Advantage).
type AdvantageShaper interface {
	Part
	ShapeAdvantages(batch []*Sample)
}

// TokenSelector narrows Sample.Mask (phase SelectTokens).
type TokenSelector interface {
	Part
	SelectTokens(batch []*Sample, m map[string]float64)
}

// LogpTerm adds a loss on the sampled tokens' log-probs (phase Loss); its
// metrics are recorded under actor/.
type LogpTerm interface {
	Part
	LogpTerm(in pg.Input) (pg.Result, error)
}

// LogitTerm adds a loss on the logits (phase Loss); its metrics keep their
// own family/quantity keys.
type LogitTerm interface {
	Part
	LogitTerm(in entropy.Input) (entropy.Output, error)
}

// Controller updates once per step after the update (phase Control); its
// state goes into checkpoints under its Name.
type Controller interface {
	Part
	Control(step int, batch []*Sample, m map[string]float64) // step: the steps completed before this one
	SaveState() (json.RawMessage, error)
	LoadState(json.RawMessage) error
}

// Recipe is what a Config selects: the policy loss and the parts, in the
// order the trainer runs them within each phase.
type Recipe struct {
	Loss    pg.Loss
	Parts   []Part
	RefLogp bool // a part or the loss reads the frozen base policy's log-probs (Sample.Ref)
}

// Build resolves every name of c once: the loss and the parts.
func Build(c Config) (*Recipe, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	loss, err := NewLoss(c.Loss)
	if err != nil {
		return nil, err
	}
	r := &Recipe{Loss: loss, RefLogp: loss.Needs().RefLogp}
	add := func(p Part, err error) error {
		if err != nil {
			return err
		}
		if p != nil {
			r.Parts = append(r.Parts, p)
		}
		return nil
	}
	// the order within a phase: the regularizer's coefficient is updated
	// before HAPO's and AEPO's controllers, EM-RL's reward before the KL penalty
	for _, mk := range []func(Config, *Recipe) (Part, error){newEntropyTerm, newEMRL, newKL, newHAPOTemperature, newAEPO, newHighEntropyMask} {
		if err := add(mk(c, r)); err != nil {
			return nil, err
		}
	}
	for _, p := range r.Parts {
		if err := checkPhases(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// checkPhases panics-free: it reports a part that declares a phase whose
// interface it lacks (a programmer mistake caught when the trainer is built).
func checkPhases(p Part) error {
	ph := p.Phases()
	var ok bool
	for _, c := range []struct {
		ph Phase
		ok bool
	}{
		{AtSample, func() bool { _, a := p.(Sampler); _, b := p.(Resampler); return a || b }()},
		{AtShapeReward, func() bool { _, ok = p.(RewardShaper); return ok }()},
		{AtAdvantage, func() bool { _, ok = p.(AdvantageShaper); return ok }()},
		{AtSelectTokens, func() bool { _, ok = p.(TokenSelector); return ok }()},
		{AtLoss, func() bool { _, a := p.(LogpTerm); _, b := p.(LogitTerm); return a || b }()},
		{AtControl, func() bool { _, ok = p.(Controller); return ok }()},
	} {
		if ph&c.ph != 0 && !c.ok {
			return fmt.Errorf("method: part %s declares phase %b without its interface", p.Name(), c.ph)
		}
	}
	return nil
}

// part is the Name/Phases pair every part embeds.
type part struct {
	name   string
	phases Phase
}

func (p part) Name() string  { return p.name }
func (p part) Phases() Phase { return p.phases }
