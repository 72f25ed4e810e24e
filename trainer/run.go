package trainer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/sft"
)

// ErrRunExists is returned when a run directory already holds a run.
var ErrRunExists = errors.New("trainer: run directory exists (use --force to overwrite or --resume to continue)")

// BasePath is where the base policy for cfg lives: the configured
// checkpoint, or runs/base/<task>-<hash of the SFT settings and task>.
func BasePath(cfg Config) string {
	if cfg.Base.Checkpoint != "" {
		return cfg.Base.Checkpoint
	}
	s := baseSFT(cfg)
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return filepath.Join("runs", "base", fmt.Sprintf("%s-%s", cfg.Task.Name, hex.EncodeToString(h[:4])))
}

func baseSFT(cfg Config) sft.Config {
	s := cfg.Base.SFT
	s.Task = cfg.Task
	s.MaxNewToken = cfg.Sampling.MaxNewTokens
	return s
}

// LoadBase loads the base policy, pre-training it with SFT first when the
// default location is empty. progress may be nil.
func LoadBase(cfg Config, progress func(sft.Progress)) (*policy.Checkpoint, string, error) {
	path := BasePath(cfg)
	if _, err := os.Stat(filepath.Join(path, "manifest.json")); err != nil {
		if cfg.Base.Checkpoint != "" {
			return nil, path, fmt.Errorf("trainer: base.checkpoint %s: %w", path, err)
		}
		if _, err := sft.Run(context.Background(), baseSFT(cfg), path, true, progress); err != nil {
			return nil, path, fmt.Errorf("trainer: making the base policy: %w", err)
		}
	}
	ck, err := policy.LoadCheckpoint(path)
	return ck, path, err
}

// Run is a trainer bound to a run directory.
type Run struct {
	*Trainer
	Dir  string
	Base string
}

// Open prepares the run directory and the trainer: a new run (the directory
// must be empty unless force), or with resume the newest complete checkpoint
// in dir (cfg is then read from dir/config.yaml by the caller).
func Open(cfg Config, dir string, resume, force bool, sftProgress func(sft.Progress)) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !resume {
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			if !force {
				return nil, fmt.Errorf("%w: %s", ErrRunExists, dir)
			}
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
		}
	}
	base, basePath, err := LoadBase(cfg, sftProgress)
	if err != nil {
		return nil, err
	}
	cfg.Base.Checkpoint = basePath
	tr, err := New(cfg, base)
	if err != nil {
		return nil, err
	}
	r := &Run{Trainer: tr, Dir: dir, Base: basePath}
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755); err != nil {
		return nil, err
	}
	if resume {
		if err := r.restore(); err != nil {
			return nil, err
		}
	}
	if len(cfg.Reward.Command) > 0 {
		c, err := reward.StartCommand(tr.Task, cfg.Reward, dir)
		if err != nil {
			return nil, err
		}
		tr.Task = c
	}
	return r, nil
}

// Checkpoint writes checkpoints/step_NNNNNN and points "latest" at it, then
// drops all but the newest checkpoint.keep.
func (r *Run) Checkpoint() error {
	t := r.Trainer
	ck := &policy.Checkpoint{Weights: t.Model.W, Optim: t.Opt, Step: t.Step, RNG: map[string][]byte{}, Extra: map[string]json.RawMessage{}, Files: map[string][]byte{}}
	for name, src := range map[string]*rand.PCG{"data": t.srcData, "rollout": t.srcRollout, "shuffle": t.srcShuffle, "clip": t.srcClip} {
		b, err := src.MarshalBinary()
		if err != nil {
			return err
		}
		ck.RNG[name] = b
	}
	ctl, err := json.Marshal(t.controllerState())
	if err != nil {
		return err
	}
	ck.Extra["controllers"] = ctl
	tj, err := t.Tok.Marshal()
	if err != nil {
		return err
	}
	ck.Files["tokenizer.json"] = tj
	meta, _ := json.MarshalIndent(map[string]any{"config": t.Cfg}, "", "  ")
	ck.Files["run.json"] = meta
	name := fmt.Sprintf("step_%06d", t.Step)
	if err := ck.Save(filepath.Join(r.Dir, "checkpoints", name)); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(r.Dir, "checkpoints", "latest"), []byte(name+"\n")); err != nil {
		return err
	}
	steps := r.checkpoints()
	for len(steps) > t.Cfg.Ckpt.Keep {
		os.RemoveAll(filepath.Join(r.Dir, "checkpoints", steps[0]))
		steps = steps[1:]
	}
	return nil
}

// checkpoints lists step_* directories, oldest first.
func (r *Run) checkpoints() []string {
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "checkpoints"))
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step_") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// restore loads the newest loadable checkpoint and trims the metrics and
// sample files to its step.
func (r *Run) restore() error {
	t := r.Trainer
	steps := r.checkpoints()
	var ck *policy.Checkpoint
	var errs []error
	for i := len(steps) - 1; i >= 0 && ck == nil; i-- {
		c, err := policy.LoadCheckpoint(filepath.Join(r.Dir, "checkpoints", steps[i]))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ck = c
	}
	if ck == nil {
		return fmt.Errorf("trainer: %s has no loadable checkpoint to resume from %v", r.Dir, errors.Join(errs...))
	}
	if ck.Weights.Cfg != t.Model.W.Cfg {
		return fmt.Errorf("trainer: checkpoint model %+v differs from the base model %+v", ck.Weights.Cfg, t.Model.W.Cfg)
	}
	t.Model.W.CopyFrom(ck.Weights)
	if ck.Optim == nil {
		return fmt.Errorf("trainer: checkpoint at step %d has no optimizer state", ck.Step)
	}
	ck.Optim.Cfg = t.Opt.Cfg
	for i := range t.Opt.M {
		copy(t.Opt.M[i], ck.Optim.M[i])
		copy(t.Opt.V[i], ck.Optim.V[i])
	}
	t.Opt.Step = ck.Optim.Step
	t.Step = ck.Step
	for name, src := range map[string]*rand.PCG{"data": t.srcData, "rollout": t.srcRollout, "shuffle": t.srcShuffle, "clip": t.srcClip} {
		b, ok := ck.RNG[name]
		if !ok {
			return fmt.Errorf("trainer: checkpoint lacks the %s random stream", name)
		}
		if err := src.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("trainer: checkpoint %s random stream: %w", name, err)
		}
	}
	if b, ok := ck.Extra["controllers"]; ok {
		var cs controllerState
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("trainer: checkpoint controllers: %w", err)
		}
		t.setControllerState(cs)
	}
	for _, f := range []string{"metrics.jsonl", "samples.jsonl"} {
		if err := trimJSONL(filepath.Join(r.Dir, f), t.Step); err != nil {
			return err
		}
	}
	return nil
}

// trimJSONL keeps the lines of a JSONL file whose "step" is at most step
// (and drops a torn last line).
func trimJSONL(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var l struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Step > step {
			continue
		}
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return atomicfile.Write(path, out.Bytes())
}

// controllerState is every controller's state, for checkpoints.
type controllerState struct {
	Coef json.RawMessage `json:"entropy_coef,omitempty"`
	HAPO json.RawMessage `json:"hapo_temperature,omitempty"`
	AEPO json.RawMessage `json:"aepo,omitempty"`
}

func marshalState(x any) json.RawMessage {
	b, _ := json.Marshal(x)
	return b
}

func unmarshalState[S any](b json.RawMessage, set func(S)) {
	var s S
	if len(b) > 0 && json.Unmarshal(b, &s) == nil {
		set(s)
	}
}

func (t *Trainer) controllerState() controllerState {
	var cs controllerState
	switch c := t.coef.(type) {
	case *entropy.AdaptiveCoef:
		cs.Coef = marshalState(c.State())
	case *entropy.AEntCoef:
		cs.Coef = marshalState(c.State())
	}
	if t.hapoT != nil {
		cs.HAPO = marshalState(t.hapoT.State())
	}
	if t.aepo != nil {
		cs.AEPO = marshalState(t.aepo.State())
	}
	return cs
}

func (t *Trainer) setControllerState(cs controllerState) {
	switch c := t.coef.(type) {
	case *entropy.AdaptiveCoef:
		unmarshalState(cs.Coef, c.SetState)
	case *entropy.AEntCoef:
		unmarshalState(cs.Coef, c.SetState)
	}
	if t.hapoT != nil {
		unmarshalState(cs.HAPO, t.hapoT.SetState)
	}
	if t.aepo != nil {
		unmarshalState(cs.AEPO, t.aepo.SetState)
	}
}

// jsonLine encodes one metrics line; NaN and Inf become null (JSON has no
// such numbers; plots reads null as a gap).
func jsonLine(step int, m map[string]float64) []byte {
	clean := make(map[string]any, len(m))
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			clean[k] = nil
		} else {
			clean[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"step": step, "data": clean})
	return append(b, '\n')
}

// MetricsWriter appends each step's metrics to metrics.jsonl and its sample
// dump to samples.jsonl.
type MetricsWriter struct{ Dir string }

// OnStep implements Observer.
func (w MetricsWriter) OnStep(_ *Trainer, r Record) error {
	if err := atomicfile.Append(filepath.Join(w.Dir, "metrics.jsonl"), jsonLine(r.Step, r.Metrics)); err != nil {
		return fmt.Errorf("trainer: metrics: %w", err)
	}
	for _, s := range r.Samples {
		b, _ := json.Marshal(s)
		if err := atomicfile.Append(filepath.Join(w.Dir, "samples.jsonl"), append(b, '\n')); err != nil {
			return fmt.Errorf("trainer: samples: %w", err)
		}
	}
	return nil
}

// Checkpointer saves every checkpoint.every steps and at the last step.
type Checkpointer struct{ Run *Run }

// OnStep implements Observer.
func (c Checkpointer) OnStep(t *Trainer, r Record) error {
	if r.Step%t.Cfg.Ckpt.Every == 0 || r.Step == t.Cfg.Train.Steps {
		return c.Run.Checkpoint()
	}
	return nil
}

// Logger prints a key=value line every log.every steps.
type Logger struct {
	W    io.Writer
	Keys []string // printed in this order when present
}

// DefaultLogKeys are the metrics on each log line.
var DefaultLogKeys = []string{"critic/score/mean", "critic/accuracy", "actor/entropy", "actor/pg_loss", "actor/pg_clipfrac",
	"actor/grad_norm", "response_length/mean", "entropy/predicted_delta", "entropy/actual_delta", "val/accuracy", "timing_s/step"}

// OnStep implements Observer.
func (l Logger) OnStep(t *Trainer, r Record) error {
	if r.Step%t.Cfg.Log.Every != 0 && r.Step != t.Cfg.Train.Steps {
		return nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "step=%d", r.Step)
	for _, k := range l.Keys {
		if v, ok := r.Metrics[k]; ok {
			fmt.Fprintf(&sb, " %s=%.4g", k, v)
		}
	}
	fmt.Fprintln(l.W, sb.String())
	return nil
}
