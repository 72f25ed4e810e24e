package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/entrolab/entrolab/policy"
)

// A signal (context cancellation) is honoured inside a step, not only
// between steps: the update checks it before every micro-batch, the rollout
// between its generation passes, the evaluation between chunks of problems.
// A step stopped half-way leaves no trace: the trainer is put back to the
// state after the last finished step (weights, optimizer, random streams,
// controllers), which is what the caller then checkpoints.

// MaxSnapshotParams bounds the models whose state is copied at the start of
// every step so that an interrupted step can be undone (3 copies of the
// weights: 1.5 GiB for 128M weights). A larger model interrupted inside a
// step is not checkpointed; its last saved checkpoint stands.
const MaxSnapshotParams = 1 << 27

// stepState is the trainer's state after the last finished step.
type stepState struct {
	w       *policy.Weights
	m, v    [][]float32
	optStep int
	pcg     [4]rand.PCG
	ctl     []byte
}

// ErrDirtyInterrupt says a step was stopped half-way and could not be undone.
var ErrDirtyInterrupt = fmt.Errorf("trainer: interrupted inside a step of a model too large to snapshot (over %d weights); the last saved checkpoint stands", MaxSnapshotParams)

// beginStep records the state to return to if ctx stops the step.
func (t *Trainer) beginStep(ctx context.Context) {
	t.ctx = ctx
	t.eng.Stop = t.stopped
	if t.Model.W.Cfg.NumParams() > MaxSnapshotParams {
		t.snap = nil
		return
	}
	s := t.snap
	if s == nil {
		s = &stepState{w: t.Model.W.Clone(), m: make([][]float32, len(t.Opt.M)), v: make([][]float32, len(t.Opt.V))}
		t.snap = s
	} else {
		s.w.CopyFrom(t.Model.W)
	}
	for i := range t.Opt.M {
		s.m[i] = append(s.m[i][:0], t.Opt.M[i]...)
		s.v[i] = append(s.v[i][:0], t.Opt.V[i]...)
	}
	s.optStep = t.Opt.Step
	for i, p := range t.pcgs() {
		s.pcg[i] = *p
	}
	s.ctl, _ = json.Marshal(t.controllerState())
}

func (t *Trainer) pcgs() [4]*rand.PCG {
	return [4]*rand.PCG{t.srcData, t.srcRollout, t.srcShuffle, t.srcClip}
}

// stopped returns the context's error once a signal has arrived.
func (t *Trainer) stopped() error {
	if t.ctx == nil {
		return nil
	}
	return t.ctx.Err()
}

// abandonStep puts the trainer back to the state beginStep recorded and
// returns the error StepOnce reports.
func (t *Trainer) abandonStep(err error) error {
	s := t.snap
	if s == nil {
		t.dirty = true
		return fmt.Errorf("%w: %w", ErrDirtyInterrupt, err)
	}
	t.Model.W.CopyFrom(s.w)
	for i := range t.Opt.M {
		copy(t.Opt.M[i], s.m[i])
		copy(t.Opt.V[i], s.v[i])
	}
	t.Opt.Step = s.optStep
	for i, p := range t.pcgs() {
		*p = s.pcg[i]
	}
	var cs controllerState
	if json.Unmarshal(s.ctl, &cs) == nil {
		t.setControllerState(cs)
	}
	return err
}
