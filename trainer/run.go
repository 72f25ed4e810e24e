package trainer

import (
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
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/entrolab/entrolab/experiment"
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
	return SFTPath(BaseSFT(cfg))
}

// SFTPath is where a base made with SFT settings s is cached:
// runs/base/<task>-<hash of s>. `entrolab sft` writes there by default and
// train looks there, so a base made by sft with the same settings is reused.
func SFTPath(s sft.Config) string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return filepath.Join("runs", "base", fmt.Sprintf("%s-%s", s.Task.Name, hex.EncodeToString(h[:4])))
}

// BaseSFT is the SFT config that makes cfg's base: base.sft with the run's
// task and completion length.
func BaseSFT(cfg Config) sft.Config {
	s := cfg.Base.SFT
	s.Task = cfg.Task
	s.MaxNewToken = cfg.Sampling.MaxNewTokens
	return s
}

// LoadBase loads the base policy, pre-training it with SFT first when the
// default location is empty. progress may be nil.
func LoadBase(cfg Config, progress func(sft.Progress)) (*policy.Checkpoint, string, error) {
	return LoadBaseContext(context.Background(), cfg, progress)
}

// LoadBaseContext is LoadBase whose pre-training stops when ctx is
// cancelled; the unfinished base is then removed (a later run must not
// take it for the cached base) and ctx's error returned.
func LoadBaseContext(ctx context.Context, cfg Config, progress func(sft.Progress)) (*policy.Checkpoint, string, error) {
	path := BasePath(cfg)
	if _, err := os.Stat(filepath.Join(path, "manifest.json")); err != nil && !policy.IsHFDir(path) {
		if cfg.Base.Checkpoint != "" {
			return nil, path, fmt.Errorf("trainer: base.checkpoint %s: %w", path, err)
		}
		res, err := sft.Run(ctx, BaseSFT(cfg), path, true, progress)
		if err != nil {
			return nil, path, fmt.Errorf("trainer: making the base policy: %w", err)
		}
		if res.Interrupted {
			os.RemoveAll(path)
			return nil, path, fmt.Errorf("trainer: pre-training the base policy %s: %w", path, ctx.Err())
		}
	}
	ck, err := policy.LoadCheckpoint(path)
	return ck, path, err
}

// RunDir is a trainer bound to its run directory: what Open made of it
// (the trainer, restored on resume), and what is done to the directory
// around the steps (the base's step-0 evaluation, checkpoints). The trainer
// is a named field, not embedded: Trainer.Run steps, a RunDir does not.
// Package runner is the lifecycle train and sweep share around it.
type RunDir struct {
	Trainer *Trainer
	Dir     string
	Base    string // the base policy's directory
	// Notes are what Open repaired or decided that the user should hear
	// about: a fallback to an older checkpoint, metrics lines moved aside,
	// stale temporary directories removed, a restart of a run that never
	// reached its first checkpoint.
	Notes []string
}

func (r *RunDir) note(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }

// unstarted reports whether dir's entries are only what a run opening it
// leaves before its marker exists: the lock file, an empty checkpoints
// directory and the marker's own temporary files (a process killed while
// opening a fresh run). Such a directory is taken as empty.
func unstarted(dir string, ents []os.DirEntry) bool {
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == LockFile && e.Type().IsRegular():
		case n == "checkpoints" && e.IsDir():
			if sub, err := os.ReadDir(filepath.Join(dir, n)); err != nil || len(sub) > 0 {
				return false
			}
		case strings.HasPrefix(n, "."+MarkerFile+".") && strings.HasSuffix(n, ".tmp") && e.Type().IsRegular():
		default:
			return false
		}
	}
	return true
}

// hasCheckpoint reports whether dir/checkpoints holds a step directory.
func hasCheckpoint(dir string) bool {
	return len((&RunDir{Dir: dir}).checkpoints()) > 0
}

// Open prepares the run directory and the trainer: a new run (the directory
// must be empty unless force), or with resume the newest complete checkpoint
// in dir (cfg is then read from dir/config.yaml by the caller). Only a
// directory entrolab made (MarkerFile) is ever deleted, with force or when
// it is a run killed before its first checkpoint, which restarts cleanly.
func Open(cfg Config, dir string, resume, force bool, sftProgress func(sft.Progress)) (*RunDir, error) {
	return OpenContext(context.Background(), cfg, dir, resume, force, sftProgress)
}

// OpenContext is Open whose base pre-training (if any) stops with ctx.
func OpenContext(ctx context.Context, cfg Config, dir string, resume, force bool, sftProgress func(sft.Progress)) (*RunDir, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &RunDir{Dir: dir}
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("trainer: run directory %s exists and is not a directory", dir)
	}
	if resume && IsRunDir(dir) && !hasCheckpoint(dir) {
		r.note("%s has no checkpoint (the run stopped before its first one): starting it again from step 0", dir)
		resume = false
		force = true
	}
	if !resume {
		if ents, err := os.ReadDir(dir); err == nil && !unstarted(dir, ents) {
			restart := IsRunDir(dir) && !hasCheckpoint(dir)
			if !force && !restart {
				return nil, fmt.Errorf("%w: %s", ErrRunExists, dir)
			}
			if err := clearRunDir(dir); err != nil {
				return nil, err
			}
			if restart && !force {
				r.note("%s held a run that stopped before its first checkpoint: starting it again", dir)
			}
		}
	}
	base, basePath, err := LoadBaseContext(ctx, cfg, sftProgress)
	if err != nil {
		return nil, err
	}
	cfg.Base.Checkpoint = basePath
	tr, err := New(cfg, base)
	if err != nil {
		return nil, err
	}
	r.Trainer, r.Base = tr, basePath
	if err := CheckNoLinks(dir); err != nil {
		return nil, err
	}
	// The marker first: a process killed from here on leaves a directory
	// that is recognisably a run (or, before the marker lands, one that
	// unstarted accepts), never one that a rerun refuses.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := WriteMarker(dir); err != nil {
		return nil, err
	}
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

// EvaluateBase evaluates the base policy before the first step of a fresh
// run and hands the observers a step-0 record holding val/*, so every curve
// and summary starts from the base. It draws on no training random stream:
// the steps that follow are the same with or without it.
func (r *RunDir) EvaluateBase() error {
	t := r.Trainer
	if t.Step != 0 {
		return nil
	}
	rec := Record{Step: 0, Metrics: map[string]float64{}}
	if err := t.evaluate(rec.Metrics); err != nil {
		return fmt.Errorf("trainer: step 0: eval: %w", err)
	}
	for _, o := range t.observers {
		if err := o.OnStep(r.Trainer, rec); err != nil {
			return err
		}
	}
	return nil
}

// Close stops what the trainer started (Trainer.Close).
func (r *RunDir) Close() error { return r.Trainer.Close() }

// Checkpoint writes checkpoints/step_NNNNNN and points "latest" at it, then
// drops all but the newest checkpoint.keep.
func (r *RunDir) Checkpoint() error {
	t := r.Trainer
	if t.dirty {
		return ErrDirtyInterrupt
	}
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
	hf, err := t.Tok.HFFiles(t.Model.Cfg().MaxSeqLen) // tokenizer.json and the HF files around it
	if err != nil {
		return err
	}
	for name, b := range hf {
		ck.Files[name] = b
	}
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

var stepDir = regexp.MustCompile(`^step_([0-9]{6,12})$`)

// checkpoints lists step_* directories, oldest first.
func (r *RunDir) checkpoints() []string {
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "checkpoints"))
	var out []string
	for _, e := range ents {
		if e.IsDir() && stepDir.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Slice(out, func(i, j int) bool { return stepOf(out[i]) < stepOf(out[j]) })
	return out
}

func stepOf(name string) int {
	m := stepDir.FindStringSubmatch(name)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// removeStale deletes temporary directories an interrupted save left in
// checkpoints/ (".step_N.tmp-*", and their ".old" twins).
func (r *RunDir) removeStale() {
	ents, _ := os.ReadDir(filepath.Join(r.Dir, "checkpoints"))
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".step_") && strings.Contains(n, ".tmp-") {
			p := filepath.Join(r.Dir, "checkpoints", n)
			if err := os.RemoveAll(p); err == nil {
				r.note("removed %s (a checkpoint save that was interrupted)", p)
			}
		}
	}
}

// restore loads the newest checkpoint that loads, agrees with its name and
// the config, and is covered by metrics.jsonl; it then repairs
// metrics.jsonl to exactly steps 1..N and samples.jsonl to steps <= N,
// moving anything else aside (FILE.rejected) and saying so in Notes.
func (r *RunDir) restore() error {
	t := r.Trainer
	r.removeStale()
	mpath := filepath.Join(r.Dir, "metrics.jsonl")
	for _, f := range []string{"metrics.jsonl", "samples.jsonl"} {
		if err := checkWritable(filepath.Join(r.Dir, f)); err != nil {
			return err
		}
	}
	mb, err := readJSONL(mpath)
	if err != nil {
		return err
	}
	covered := ContiguousSteps(mb)
	steps := r.checkpoints()
	var ck *policy.Checkpoint
	var errs []error
	chosen := ""
	for i := len(steps) - 1; i >= 0 && ck == nil; i-- {
		p := filepath.Join(r.Dir, "checkpoints", steps[i])
		c, err := policy.LoadCheckpoint(p)
		if err == nil {
			switch {
			case c.Step != stepOf(steps[i]):
				err = fmt.Errorf("trainer: %s: state.json says step %d, the directory name step %d", p, c.Step, stepOf(steps[i]))
			case c.Step < 1 || c.Step > t.Cfg.Train.Steps:
				err = fmt.Errorf("trainer: %s: step %d is outside 1..train.steps (%d)", p, c.Step, t.Cfg.Train.Steps)
			case c.Step > covered:
				err = fmt.Errorf("trainer: %s: step %d is beyond metrics.jsonl, which holds steps 1..%d", p, c.Step, covered)
			default:
				err = checkState(p, c)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ck, chosen = c, steps[i]
	}
	if ck == nil {
		if len(steps) == 0 {
			return fmt.Errorf("trainer: %s has no checkpoint to resume from (checkpoints/ holds no step_* directory)", r.Dir)
		}
		return fmt.Errorf("trainer: %s has no loadable checkpoint to resume from: %w", r.Dir, errors.Join(errs...))
	}
	if chosen != steps[len(steps)-1] {
		r.note("falling back to the older checkpoint %s: %v", chosen, errors.Join(errs...))
	}
	if ck.Weights.Cfg != t.Model.W.Cfg {
		return fmt.Errorf("trainer: checkpoint model %+v differs from the base model %+v", ck.Weights.Cfg, t.Model.W.Cfg)
	}
	t.Model.W.CopyFrom(ck.Weights)
	if ck.Optim == nil {
		return fmt.Errorf("trainer: checkpoint at step %d has no optimizer state", ck.Step)
	}
	if ck.Optim.Step < 0 {
		return fmt.Errorf("trainer: checkpoint %s: optimizer step %d is negative", chosen, ck.Optim.Step)
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
			return fmt.Errorf("trainer: checkpoint %s: state.json lacks the %s random stream", chosen, name)
		}
		if err := src.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("trainer: checkpoint %s: state.json: rng.%s: %w", chosen, name, err)
		}
	}
	if b, ok := ck.Extra["controllers"]; ok {
		var cs controllerState
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("trainer: checkpoint %s: state.json: extra.controllers: %w", chosen, err)
		}
		t.setControllerState(cs)
	}
	kept, rejected := RepairMetrics(mb, t.Step)
	if err := r.rewrite("metrics.jsonl", mb, kept, rejected); err != nil {
		return err
	}
	sb, err := readJSONL(filepath.Join(r.Dir, "samples.jsonl"))
	if err != nil {
		return err
	}
	kept, rejected = RepairSamples(sb, t.Step)
	return r.rewrite("samples.jsonl", sb, kept, rejected)
}

// checkState checks what restore takes from a checkpoint besides the
// weights: the optimizer state, the four random streams, the controllers.
func checkState(dir string, c *policy.Checkpoint) error {
	if c.Optim == nil {
		return fmt.Errorf("trainer: %s has no optimizer state", dir)
	}
	for _, name := range []string{"data", "rollout", "shuffle", "clip"} {
		b, ok := c.RNG[name]
		if !ok {
			return fmt.Errorf("trainer: %s: state.json lacks the %s random stream (rng.%s)", dir, name, name)
		}
		var p rand.PCG
		if err := p.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("trainer: %s: state.json: rng.%s: %w", dir, name, err)
		}
	}
	if b, ok := c.Extra["controllers"]; ok {
		var cs controllerState
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("trainer: %s: state.json: extra.controllers: %w", dir, err)
		}
	}
	return nil
}

// rewrite replaces a JSONL file by its kept lines when they differ, moving
// the rejected lines to FILE.rejected (appended) and noting how many.
func (r *RunDir) rewrite(name string, old, kept, rejected []byte) error {
	p := filepath.Join(r.Dir, name)
	if bytes.Equal(old, kept) {
		return nil
	}
	if len(rejected) > 0 {
		if err := atomicfile.Append(p+".rejected", rejected); err != nil {
			return err
		}
		r.note("%s: moved %d line(s) that are not steps 1..%d in order to %s", p, bytes.Count(rejected, []byte("\n")), r.Trainer.Step, p+".rejected")
	}
	return atomicfile.Write(p, kept)
}

// MaxJSONLBytes bounds a metrics or samples file read on resume.
const MaxJSONLBytes = 1 << 30

// readJSONL reads a run's JSONL file (missing: empty), refusing a link, a
// non-regular file or one larger than MaxJSONLBytes.
func readJSONL(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("trainer: %s is not a regular file", path)
	}
	if st.Size() > MaxJSONLBytes {
		return nil, fmt.Errorf("trainer: %s has %d bytes, more than %d", path, st.Size(), MaxJSONLBytes)
	}
	return os.ReadFile(path)
}

// metricsLine is the shape of a metrics.jsonl line.
type metricsLine struct {
	Step *json.Number              `json:"step"`
	Data map[string]*float64Ignore `json:"data"`
}

// float64Ignore accepts a number or null.
type float64Ignore struct{}

func (*float64Ignore) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var f float64
	return json.Unmarshal(b, &f)
}

// lineStep parses a metrics line's step: an integer >= 1 with a data object.
func lineStep(line []byte) (int, bool) {
	var l metricsLine
	d := json.NewDecoder(bytes.NewReader(line))
	if err := d.Decode(&l); err != nil || l.Step == nil || l.Data == nil || d.More() {
		return 0, false
	}
	n, err := strconv.Atoi(l.Step.String())
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true // 0: the base's evaluation
}

// splitLines yields each newline-terminated line (a torn last line without
// its newline is returned as rest).
func splitLines(b []byte, f func(line []byte)) (rest []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return b
		}
		f(b[:i])
		b = b[i+1:]
	}
	return nil
}

// ContiguousSteps is the N for which metrics b starts with steps 1..N in order.
func ContiguousSteps(b []byte) int {
	next := 1
	splitLines(b, func(line []byte) {
		if s, ok := lineStep(line); ok && s == next {
			next++
		}
	})
	return next - 1
}

// RepairMetrics keeps the input's first line when it is step 0 (the base's
// evaluation) and exactly one line for each of steps 1..n, in order (the
// first well-formed line of each step); every other line (malformed, no
// step, duplicate, out of order, beyond n, torn) is returned as rejected.
func RepairMetrics(b []byte, n int) (kept, rejected []byte) {
	next, first := 1, true
	rest := splitLines(b, func(line []byte) {
		s, ok := lineStep(line)
		if ok && first && s == 0 { // the base's evaluation (EvaluateBase), before step 1
			kept = append(append(kept, line...), '\n')
			first = false
			return
		}
		first = false
		if ok && s == next && s <= n {
			kept = append(append(kept, line...), '\n')
			next++
			return
		}
		rejected = append(append(rejected, line...), '\n')
	})
	if len(rest) > 0 {
		rejected = append(append(rejected, rest...), '\n')
	}
	return kept, rejected
}

// RepairSamples keeps the sample lines of steps 1..n in non-decreasing step
// order; the rest is rejected.
func RepairSamples(b []byte, n int) (kept, rejected []byte) {
	last := 0
	rest := splitLines(b, func(line []byte) {
		var l struct {
			Step *json.Number `json:"step"`
		}
		ok := json.Unmarshal(line, &l) == nil && l.Step != nil
		s := 0
		if ok {
			var err error
			s, err = strconv.Atoi(l.Step.String())
			ok = err == nil && s >= 1 && s <= n && s >= last
		}
		if ok {
			kept = append(append(kept, line...), '\n')
			last = s
			return
		}
		rejected = append(append(rejected, line...), '\n')
	})
	if len(rest) > 0 {
		rejected = append(append(rejected, rest...), '\n')
	}
	return kept, rejected
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
type Checkpointer struct{ Run *RunDir }

// OnStep implements Observer.
func (c Checkpointer) OnStep(t *Trainer, r Record) error {
	if r.Step == 0 {
		return nil // the base's evaluation; the base itself is not a checkpoint
	}
	if r.Step%t.Cfg.Ckpt.Every == 0 || r.Step == t.Cfg.Train.Steps {
		return c.Run.Checkpoint()
	}
	return nil
}

// Logger prints a key=value line every log.every steps (and at step 0, the
// base's evaluation), wrapped to fit LineWidth columns.
type Logger struct {
	W    io.Writer
	Keys []string // printed in this order when present; nil: log.keys
}

// LineWidth is the most columns a log line takes.
const LineWidth = 120

// DefaultLogKeys are the metrics on each log line (log.keys).
var DefaultLogKeys = experiment.DefaultLogKeys

// logNames are the short names log lines use for common metrics; any other
// key is printed as it is.
var logNames = map[string]string{
	"critic/score/mean": "reward", "critic/accuracy": "acc", "actor/entropy": "entropy", "actor/pg_loss": "pg_loss",
	"actor/pg_clipfrac": "clipfrac", "actor/grad_norm": "grad_norm", "response_length/mean": "len",
	"entropy/predicted_delta": "dH_pred", "entropy/actual_delta": "dH", "val/accuracy": "val_acc", "timing_s/step": "s/step",
}

// OnStep implements Observer.
func (l Logger) OnStep(t *Trainer, r Record) error {
	if r.Step%t.Cfg.Log.Every != 0 && r.Step != t.Cfg.Train.Steps {
		return nil
	}
	keys := l.Keys
	if keys == nil {
		keys = t.Cfg.Log.Keys
	}
	for _, line := range logLines(r, keys) {
		fmt.Fprintln(l.W, line)
	}
	return nil
}

// logLines formats a record's keys as "step=N name=value ..." lines of at
// most LineWidth columns (continuations indented).
func logLines(r Record, keys []string) []string {
	var lines []string
	cur := fmt.Sprintf("step=%d", r.Step)
	for _, k := range keys {
		v, ok := r.Metrics[k]
		if !ok {
			continue
		}
		name := logNames[k]
		if name == "" {
			name = k
		}
		f := fmt.Sprintf("%s=%.4g", name, v)
		if len(cur)+1+len(f) > LineWidth {
			lines = append(lines, cur)
			cur = "   "
		}
		cur += " " + f
	}
	return append(lines, cur)
}
