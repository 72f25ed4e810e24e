package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/method"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
	"github.com/entrolab/entrolab/tokens"
)

// Random stream ids (PCG's second word): each component draws from its own.
const (
	streamData    = 11
	streamRollout = 12
	streamShuffle = 13
	streamClip    = 14
	streamEval    = 15
)

// NonFiniteError stops a run when a loss, gradient or entropy is NaN or Inf.
type NonFiniteError struct {
	Step   int
	Metric string
	Value  float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("trainer: step %d: %s is %v", e.Step, e.Metric, e.Value)
}

// Record is what one step produced: verl-named metrics and timings.
type Record struct {
	Step    int
	Metrics map[string]float64
	Samples []SampleDump // filled on sample-dump steps
}

// SampleDump is one completion as dumped to samples.jsonl.
type SampleDump struct {
	Step       int     `json:"step"`
	Prompt     string  `json:"prompt"`
	Completion string  `json:"completion"`
	Answer     string  `json:"answer"`
	Reward     float64 `json:"reward"`
	Advantage  float64 `json:"advantage"` // of the first token (the sequence's, for sequence-level estimators)
	Finish     string  `json:"finish"`
	Correct    bool    `json:"correct"`

	// Per completion token, in order ([n], <eos> included when sampled):
	// the token's text, its old log-prob log softmax(z/T)[token] and the
	// entropy of softmax(z/T) as the trainer used them (the sampler's, or
	// recomputed where the method recomputes), and its advantage. float32
	// keeps the file small; the numbers are for reading, not for resuming.
	Tokens   []string  `json:"tokens,omitempty"`
	Logp     []float32 `json:"logp,omitempty"`
	Entropy  []float32 `json:"entropy,omitempty"`
	TokenAdv []float32 `json:"token_advantage,omitempty"`
}

// Observer is told about every finished step.
type Observer interface {
	OnStep(t *Trainer, r Record) error
}

// sample is one completion moving through a step (the parts see it too).
type sample = method.Sample

// Trainer runs RL steps on one policy.
type Trainer struct {
	Cfg   Config
	Tok   *tokens.Tokenizer
	Task  reward.Task
	Model *policy.Model
	Opt   *policy.AdamW
	Step  int // steps completed

	ref    *policy.Model // frozen base (reference log-probs or rewards); nil when unused
	eng    *rollout.Engine
	refEng *rollout.Engine
	est    advantage.Estimator
	recipe *method.Recipe // the loss and the method's parts

	srcData, srcRollout, srcShuffle, srcClip *rand.PCG
	ctx                                      context.Context // the running step's (interrupt.go)
	snap                                     *stepState      // state after the last finished step
	dirty                                    bool            // a step was stopped half-way and not undone
	data, shuffle, clipRng                   *rand.Rand

	evalSet   []reward.Problem
	observers []Observer
	baseInfo  string
}

// New builds a trainer from a validated config and a base checkpoint.
func New(cfg Config, base *policy.Checkpoint) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tj := base.Files["tokenizer.json"]
	if tj == nil {
		return nil, errors.New("trainer: base checkpoint has no tokenizer.json")
	}
	tok, err := tokens.FromFiles(base.Files) // tokenizer.json + tokenizer/generation config
	if err != nil {
		return nil, fmt.Errorf("trainer: base checkpoint: %w", err)
	}
	if tok.VocabSize() != base.Weights.Cfg.Vocab {
		return nil, fmt.Errorf("trainer: base tokenizer has %d tokens, its model %d", tok.VocabSize(), base.Weights.Cfg.Vocab)
	}
	task, err := reward.New(cfg.Task)
	if err != nil {
		return nil, err
	}
	if err := checkMemory(cfg, base.Weights.Cfg); err != nil {
		return nil, err
	}
	t := &Trainer{Cfg: cfg, Tok: tok, Task: task}
	t.Model = policy.FromWeights(base.Weights.Clone())
	t.Opt = policy.NewAdamW(cfg.Optim, t.Model.W)
	eos := int32(tok.EOSID())
	t.eng = rollout.New(t.Model.W, eos)
	if t.est, err = advantage.New(cfg.Algorithm.Advantage); err != nil {
		return nil, err
	}
	if t.recipe, err = method.Build(cfg.Algorithm); err != nil {
		return nil, err
	}
	if t.recipe.RefLogp || t.est.Needs().RefRewards {
		t.ref = policy.FromWeights(base.Weights.Clone())
		t.refEng = rollout.New(t.ref.W, eos)
	}
	t.srcData = rand.NewPCG(cfg.Seed, streamData)
	t.srcRollout = rand.NewPCG(cfg.Seed, streamRollout)
	t.srcShuffle = rand.NewPCG(cfg.Seed, streamShuffle)
	t.srcClip = rand.NewPCG(cfg.Seed, streamClip)
	t.data, t.shuffle, t.clipRng = rand.New(t.srcData), rand.New(t.srcShuffle), rand.New(t.srcClip)
	er := rand.New(rand.NewPCG(cfg.Seed, streamEval))
	if t.evalSet, err = reward.HeldOutSet(task, er, cfg.Eval.Problems); err != nil {
		return nil, err
	}
	if err := t.checkContext(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkContext makes sure the longest prompt plus completion fits the model.
func (t *Trainer) checkContext() error {
	if st, ok := reward.Inner(t.Task).(reward.Streamer); ok { // a dataset: every prompt, exactly
		return st.Each(func(p reward.Problem) error {
			ids, err := t.Tok.EncodePrompt(p.Prompt)
			if err != nil {
				return fmt.Errorf("prompt %q: %w (the base's tokenizer)", p.Prompt, err)
			}
			if ctx := t.Model.W.Cfg.MaxSeqLen; len(ids)+t.Cfg.Sampling.MaxNewTokens > ctx {
				return fmt.Errorf("prompt of %d tokens + sampling.max_new_tokens = %d exceed the model's context of %d", len(ids), t.Cfg.Sampling.MaxNewTokens, ctx)
			}
			return nil
		})
	}
	r := rand.New(rand.NewPCG(t.Cfg.Seed, 99))
	longest := 0
	for i := 0; i < 200; i++ {
		p := t.Task.Generate(r, reward.Train)
		ids, err := t.Tok.EncodePrompt(p.Prompt)
		if err != nil {
			return fmt.Errorf("trainer: task prompt %q: %w", p.Prompt, err)
		}
		longest = max(longest, len(ids))
	}
	if ctx := t.Model.W.Cfg.MaxSeqLen; longest+t.Cfg.Sampling.MaxNewTokens > ctx {
		return fmt.Errorf("trainer: prompts of up to %d tokens + sampling.max_new_tokens = %d exceed the model's context of %d", longest, t.Cfg.Sampling.MaxNewTokens, ctx)
	}
	return nil
}

// Observe attaches an observer.
func (t *Trainer) Observe(o Observer) { t.observers = append(t.observers, o) }

// Run steps until train.steps or ctx is cancelled (then it returns ctx's
// error after the observers have seen the last finished step).
func (t *Trainer) Run(ctx context.Context) error {
	for t.Step < t.Cfg.Train.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := t.StepOnce(ctx); err != nil {
			return err
		}
	}
	return nil
}

// StepOnce runs one RL step, phase by phase, and notifies the observers.
// Each phase runs the method's parts registered at it (package method). A
// cancelled ctx stops it within a micro-batch and leaves the trainer as it
// was before the step (interrupt.go).
func (t *Trainer) StepOnce(ctx context.Context) (Record, error) {
	t.beginStep(ctx)
	rec, err := t.stepOnce()
	if err != nil && ctx.Err() != nil && t.Step < rec.Step {
		return rec, t.abandonStep(ctx.Err())
	}
	return rec, err
}

func (t *Trainer) stepOnce() (Record, error) {
	step := t.Step + 1
	rec := Record{Step: step, Metrics: map[string]float64{}}
	m, tm := rec.Metrics, timer{m: rec.Metrics, t0: time.Now()}
	var batch []*sample
	for _, ph := range []struct {
		name, lap string // lap: the timing_s/ key closed after this phase
		run       func() error
	}{ // a cancelled context also stops the step between control and eval (interrupt.go)
		{"rollout", "gen", func() (err error) { batch, err = t.sample(t.nextProblems(), m); return err }},
		{"reward", "", func() error { return t.score(batch, m) }},
		{"advantage", "", func() error { return t.estimate(batch, m) }},
		{"select tokens", "adv", func() error { t.selectTokens(batch, m); return nil }},
		{"update", "update", func() error { return t.update(batch, m) }},
		{"diagnostic", "diagnostic", func() error { return t.diagnose(batch, m) }},
		{"control", "", func() error { t.control(batch, m); return nil }},
		{"stop point", "", t.stopped},
		{"eval", "eval", func() error { return t.evaluateK(m, t.evalSamples(step)) }},
	} {
		done, err := t.runPhase(ph.name, ph.run)
		if err != nil && ph.name == "stop point" {
			return rec, err
		}
		if err != nil {
			return rec, stepError(step, ph.name, err)
		}
		if done && ph.lap != "" {
			tm.lap(metric.Timing + ph.lap)
		}
	}
	if err := checkFinite(step, m); err != nil {
		return rec, err
	}
	t.record(&rec, batch, tm.t0)
	t.Step = step
	for _, o := range t.observers {
		if err := o.OnStep(t, rec); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// runPhase runs a phase unless this step skips it (the diagnostic when
// log.diagnostics is off; evaluation except every eval.every steps and at
// the last step); done reports whether it ran.
func (t *Trainer) runPhase(name string, run func() error) (done bool, err error) {
	step := t.Step + 1
	switch name {
	case "diagnostic":
		if !t.Cfg.Log.Diagnostics {
			return false, nil
		}
	case "eval":
		if !(t.Cfg.Eval.Every > 0 && step%t.Cfg.Eval.Every == 0 || step == t.Cfg.Train.Steps) {
			return false, nil
		}
	}
	return true, run()
}

// stepError names the step and phase of err; a non-finite loss or
// gradient becomes a NonFiniteError naming its metric.
func stepError(step int, phase string, err error) error {
	var nf *policy.NonFiniteError
	if phase == "update" && errors.As(err, &nf) {
		name := map[string]string{"loss": metric.PGLoss, "gradient norm": metric.GradNorm}[nf.What]
		if name == "" {
			name = "actor/" + nf.What
		}
		return &NonFiniteError{Step: step, Metric: name, Value: nf.Value}
	}
	return fmt.Errorf("trainer: step %d: %s: %w", step, phase, err)
}

// record adds the step's time, throughput and sample dump.
func (t *Trainer) record(rec *Record, batch []*sample, t0 time.Time) {
	rec.Metrics[metric.StepTime] = time.Since(t0).Seconds()
	var toks float64
	for _, s := range batch {
		toks += float64(len(s.Prompt) + s.N())
	}
	rec.Metrics[metric.Throughput] = toks / rec.Metrics[metric.StepTime]
	if t.Cfg.Log.SampleEvery > 0 && rec.Step%t.Cfg.Log.SampleEvery == 0 {
		rec.Samples = t.dump(rec.Step, batch)
	}
}

type timer struct {
	m      map[string]float64
	t0, at time.Time
}

func (tm *timer) lap(key string) {
	now := time.Now()
	if tm.at.IsZero() {
		tm.at = tm.t0
	}
	tm.m[key] = now.Sub(tm.at).Seconds()
	tm.at = now
}

// checkFinite stops the run on a NaN or Inf in a loss, gradient or entropy.
func checkFinite(step int, m map[string]float64) error {
	for _, k := range []string{metric.PGLoss, metric.GradNorm, metric.Entropy, metric.KLLoss, metric.EntropyLoss} {
		if v, ok := m[k]; ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return &NonFiniteError{Step: step, Metric: k, Value: v}
		}
	}
	return nil
}

// nextProblems draws the step's prompts from the training split.
func (t *Trainer) nextProblems() []reward.Problem {
	ps := make([]reward.Problem, t.Cfg.Train.PromptsPerStep)
	for i := range ps {
		ps[i] = t.Task.Generate(t.data, reward.Train)
	}
	return ps
}

// sampling is the step's rollout settings for n completions per prompt,
// as the Sample-phase parts adjust them; recompute reports that the old
// log-probs must come from a forward pass.
func (t *Trainer) sampling(n int) (r rollout.Sampling, recompute bool) {
	r = t.Cfg.Sampling
	r.N = n
	for _, p := range t.recipe.Parts {
		if sp, ok := p.(method.Sampler); ok && sp.Sampling(&r) {
			recompute = true
		}
	}
	return r, recompute
}

// generate samples n completions per problem with eng.
func (t *Trainer) generate(eng *rollout.Engine, probs []reward.Problem, s rollout.Sampling) ([]*sample, error) {
	prompts := make([][]int32, len(probs))
	for i, p := range probs {
		ids, err := t.Tok.EncodePrompt(p.Prompt)
		if err != nil {
			return nil, err
		}
		prompts[i] = ids
	}
	if err := t.stopped(); err != nil {
		return nil, err
	}
	b, err := eng.Generate(prompts, s, rand.New(t.srcRollout).Uint64())
	if err != nil {
		return nil, err
	}
	out := make([]*sample, len(b.Seqs))
	sp, sc, texts := make([]reward.Problem, len(b.Seqs)), make([]reward.Score, len(b.Seqs)), make([]string, len(b.Seqs))
	for i := range b.Seqs {
		sq := b.Seqs[i]
		p := sq.Prompt
		out[i] = &sample{Prob: probs[p], Prompt: prompts[p], Seq: sq, Group: p}
		sp[i], texts[i] = probs[p], t.Tok.DecodeCompletion(sq.Tokens)
	}
	if err := reward.ScoreAll(sc, t.Task, sp, texts); err != nil { // one batch for a reward command
		return nil, err
	}
	for i, s := range out {
		s.Score, s.Reward = sc[i], sc[i].Reward
	}
	return out, nil
}

// sample runs the rollout, lets the Sample-phase parts rebuild the batch,
// and fills the old (and, when read, the reference) log-probs.
func (t *Trainer) sample(probs []reward.Problem, m map[string]float64) ([]*sample, error) {
	s, recompute := t.sampling(t.Cfg.Sampling.N)
	batch, err := t.generate(t.eng, probs, s)
	if err != nil {
		return nil, err
	}
	gen := func(probs []reward.Problem, s rollout.Sampling) ([]*sample, error) {
		return t.generate(t.eng, probs, s)
	}
	for _, p := range t.recipe.Parts {
		if rs, ok := p.(method.Resampler); ok {
			if batch, err = rs.Resample(gen, s, probs, batch, m); err != nil {
				return nil, err
			}
			recompute = true // a rebuilt batch mixes samplers: old log-probs at the training temperature
		}
	}
	for _, s := range batch {
		s.Old = s.Seq.Logp
		s.OldEnt = s.Seq.Entropy
		s.Mask = make([]float64, s.N())
		for i := range s.Mask {
			s.Mask[i] = 1
		}
	}
	if recompute {
		if err := t.forward(t.Model, batch, t.Cfg.Sampling.Temperature, func(s *sample, lp, ent []float64, _ []float32) {
			s.Old, s.OldEnt = lp, ent
		}); err != nil {
			return nil, err
		}
	}
	if t.recipe.RefLogp {
		if err := t.forward(t.ref, batch, t.Cfg.Sampling.Temperature, func(s *sample, lp, _ []float64, _ []float32) {
			s.Ref = lp
		}); err != nil {
			return nil, err
		}
	}
	lengths := make([]float64, len(batch))
	clipped := 0.0
	for i, s := range batch {
		lengths[i] = float64(s.N())
		if s.Seq.Finish == rollout.FinishLength {
			clipped++
		}
	}
	stats(m, metric.RespLen, lengths)
	m[metric.RespClipRatio] = clipped / float64(len(batch))
	return batch, nil
}

// forward runs the forward-only graph of mdl over the batch (one row per
// sample) and hands each sample its completion tokens' log-probs, entropies
// and logits.
func (t *Trainer) forward(mdl *policy.Model, batch []*sample, temp float64, use func(s *sample, lp, ent []float64, logits []float32)) error {
	if err := t.stopped(); err != nil {
		return err
	}
	bt, from := t.pack(batch)
	n := bt.B * bt.T
	v := mdl.W.Cfg.Vocab
	lp, ent, logits := make([]float64, n), make([]float64, n), make([]float32, n*v)
	if err := mdl.LogProbs(bt, temp, lp, ent, logits); err != nil {
		return err
	}
	for b, s := range batch {
		o := b*bt.T + from[b] - 1
		k := s.N()
		use(s, slices.Clone(lp[o:o+k]), slices.Clone(ent[o:o+k]), logits[o*v:(o+k)*v])
	}
	return nil
}

// pack lays samples out as policy rows: prompt then completion, targets on
// the completion; T is rounded up to a multiple of 8 so that few graph
// shapes are built. from[b] is the index of the first completion token.
func (t *Trainer) pack(batch []*sample) (*policy.Batch, []int) {
	longest := 0
	for _, s := range batch {
		longest = max(longest, len(s.Prompt)+s.N()-1)
	}
	T := min((longest+7)/8*8, t.Model.W.Cfg.MaxSeqLen)
	bt := policy.NewBatch(len(batch), T)
	from := make([]int, len(batch))
	pad := int32(t.Tok.PadID())
	for b, s := range batch {
		seq := append(append(make([]int32, 0, len(s.Prompt)+s.N()), s.Prompt...), s.Seq.Tokens...)
		from[b] = len(s.Prompt)
		if err := bt.SetRow(b, seq, from[b], pad); err != nil {
			panic(err) // checkContext guarantees the fit
		}
	}
	return bt, from
}

// stats records mean/max/min of xs under prefix.
func stats(m map[string]float64, prefix string, xs []float64) {
	if len(xs) == 0 {
		return
	}
	mn, mx, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range xs {
		mn, mx, sum = math.Min(mn, x), math.Max(mx, x), sum+x
	}
	m[prefix+"/mean"], m[prefix+"/max"], m[prefix+"/min"] = sum/float64(len(xs)), mx, mn
}

// controllerState is every Control-phase part's saved state, by part name.
type controllerState map[string]json.RawMessage

func (t *Trainer) controllerState() controllerState {
	cs := controllerState{}
	for _, p := range t.recipe.Parts {
		if c, ok := p.(method.Controller); ok {
			if b, err := c.SaveState(); err == nil {
				cs[p.Name()] = b
			}
		}
	}
	return cs
}

// setControllerState restores what controllerState saved; a part with no
// saved state (or an unreadable one) keeps its fresh state.
func (t *Trainer) setControllerState(cs controllerState) {
	for _, p := range t.recipe.Parts {
		if c, ok := p.(method.Controller); ok {
			_ = c.LoadState(cs[p.Name()])
		}
	}
}

// SetWorkers sets how many cores the policy's graph replicas and the sampler
// use (default: all). Set it before the first step.
func (t *Trainer) SetWorkers(n int) {
	n = max(1, n)
	t.Model.Replicas = n
	t.eng.Workers = n
	if t.ref != nil {
		t.ref.Replicas = n
		t.refEng.Workers = n
	}
}

// Close stops what the trainer started: a reward command's child process,
// a dataset's open files.
func (t *Trainer) Close() error {
	if c, ok := t.Task.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
