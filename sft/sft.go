package sft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
	"github.com/entrolab/entrolab/tokens"
)

// Config is one SFT run.
type Config struct {
	Task        reward.Config      `mapstructure:"task" yaml:"task" json:"task"`
	Model       policy.Config      `mapstructure:"model" yaml:"model" json:"model"` // vocab 0 = the tokenizer's
	Optim       policy.OptimConfig `mapstructure:"optim" yaml:"optim" json:"optim"`
	BatchSize   int                `mapstructure:"batch_size" yaml:"batch_size" json:"batch_size"`             // sequences per step; default 64
	MaxSteps    int                `mapstructure:"max_steps" yaml:"max_steps" json:"max_steps"`                // give up after this many; default 3000
	EvalEvery   int                `mapstructure:"eval_every" yaml:"eval_every" json:"eval_every"`             // steps between held-out evaluations; default 25
	EvalSize    int                `mapstructure:"eval_size" yaml:"eval_size" json:"eval_size"`                // held-out problems per evaluation; default 256
	AccLow      float64            `mapstructure:"acc_low" yaml:"acc_low" json:"acc_low"`                      // stop once greedy accuracy >= acc_low ...
	AccHigh     float64            `mapstructure:"acc_high" yaml:"acc_high" json:"acc_high"`                   // ... and <= acc_high; default [0.3, 0.6]
	MaxNewToken int                `mapstructure:"max_new_tokens" yaml:"max_new_tokens" json:"max_new_tokens"` // evaluation completion cap; default 16
	Seed        uint64             `mapstructure:"seed" yaml:"seed" json:"seed"`
	// Init starts from a checkpoint or Hugging Face GPT-2 directory instead
	// of fresh weights: its network and tokenizer are used, so model.* must
	// stay at the defaults (a set model key is refused). Empty: fresh.
	Init string `mapstructure:"init" yaml:"init" json:"init,omitempty"`
}

// DefaultConfig is SFT on 3-digit addition with a small model that reaches
// the band in a few minutes on 2 cores.
func DefaultConfig() Config {
	task := reward.DefaultConfig()
	task.Name = "addition"
	o := policy.DefaultOptimConfig()
	o.LR = 2e-3
	o.Warmup = 20
	o.WeightDecay = 0.01
	return Config{
		Task:        task,
		Model:       policy.Config{DModel: 64, NLayers: 2, NHeads: 4, MaxSeqLen: 48, InitStd: 0.02, Seed: 1},
		Optim:       o,
		BatchSize:   64,
		MaxSteps:    3000,
		EvalEvery:   25,
		EvalSize:    256,
		AccLow:      0.3,
		AccHigh:     0.6,
		MaxNewToken: 16,
		Seed:        1,
	}
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	if err := c.Task.Validate(); err != nil {
		return err
	}
	m := c.Model
	if m.Vocab == 0 {
		m.Vocab = tokens.New().VocabSize()
	}
	if c.Init != "" {
		m.MaxSeqLen = policy.MaxSeqLen // max_new_tokens is checked against init's network in Run
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := c.Optim.Validate(); err != nil {
		return err
	}
	switch {
	case c.BatchSize < 1 || c.BatchSize > 4096:
		return fmt.Errorf("sft: batch_size = %d, want in [1, 4096]", c.BatchSize)
	case c.MaxSteps < 1 || c.MaxSteps > 10_000_000:
		return fmt.Errorf("sft: max_steps = %d, want in [1, 10000000]", c.MaxSteps)
	case c.EvalEvery < 1 || c.EvalEvery > 10_000_000:
		return fmt.Errorf("sft: eval_every = %d, want in [1, 10000000]", c.EvalEvery)
	case c.EvalSize < 1 || c.EvalSize > 100_000:
		return fmt.Errorf("sft: eval_size = %d, want in [1, 100000]", c.EvalSize)
	case !(c.AccLow >= 0 && c.AccLow <= c.AccHigh && c.AccHigh <= 1):
		return fmt.Errorf("sft: acc_low = %v, acc_high = %v, want 0 <= acc_low <= acc_high <= 1", c.AccLow, c.AccHigh)
	case c.MaxNewToken < 1 || c.MaxNewToken >= m.MaxSeqLen:
		return fmt.Errorf("sft: max_new_tokens = %d, want in [1, model.max_seq_len = %d)", c.MaxNewToken, m.MaxSeqLen)
	}
	return nil
}

// Progress is what Run reports after each step.
type Progress struct {
	Step, MaxSteps int
	Loss           float64
	Accuracy       float64 // last held-out greedy accuracy (NaN before the first)
	Evaluated      bool    // this step ran an evaluation
}

// Result describes a finished run.
type Result struct {
	Steps       int     `json:"steps"`
	Accuracy    float64 `json:"held_out_accuracy"`
	Reason      string  `json:"stop_reason"` // "in_band", "above_band", "max_steps", "interrupted"
	Seconds     float64 `json:"seconds"`
	Tokens      int     `json:"train_tokens"`
	TokensPerS  float64 `json:"train_tokens_per_s"`
	Checkpoint  string  `json:"checkpoint"`
	Interrupted bool    `json:"-"`
}

// Stream ids of the run's random streams (PCG's second word).
const (
	streamData = 1
	streamEval = 2
)

// ErrExists is returned when the output directory exists and force is off.
var ErrExists = errors.New("sft: output directory exists (use --force to overwrite)")

// Run trains until the band, max_steps, or ctx's cancellation (Ctrl-C), and
// in every case saves a checkpoint to out. progress may be nil.
func Run(ctx context.Context, cfg Config, out string, force bool, progress func(Progress)) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if !force {
		if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
			return Result{}, fmt.Errorf("%w: %s", ErrExists, out)
		}
	}
	task, err := reward.New(cfg.Task)
	if err != nil {
		return Result{}, err
	}
	if c, ok := task.(io.Closer); ok {
		defer c.Close()
	}
	tok, err := TokenizerFor(cfg.Task, task)
	if err != nil {
		return Result{}, err
	}
	var initW *policy.Weights
	if cfg.Init != "" {
		if cfg.Model != DefaultConfig().Model {
			return Result{}, fmt.Errorf("sft: model = %+v is set, but init %s decides the network (leave model.* unset)", cfg.Model, cfg.Init)
		}
		ck, err := policy.LoadCheckpoint(cfg.Init)
		if err != nil {
			return Result{}, fmt.Errorf("sft: init: %w", err)
		}
		if tok, err = tokens.FromFiles(ck.Files); err != nil {
			return Result{}, fmt.Errorf("sft: init %s: %w", cfg.Init, err)
		}
		initW, cfg.Model = ck.Weights, ck.Weights.Cfg
		if cfg.MaxNewToken >= cfg.Model.MaxSeqLen {
			return Result{}, fmt.Errorf("sft: max_new_tokens = %d, want below init's n_positions = %d", cfg.MaxNewToken, cfg.Model.MaxSeqLen)
		}
	}
	if err := CheckProblems(task, tok, cfg.Model.MaxSeqLen); err != nil {
		return Result{}, fmt.Errorf("%w (model.max_seq_len = %d)", err, cfg.Model.MaxSeqLen)
	}
	if cfg.Model.Vocab == 0 {
		cfg.Model.Vocab = tok.VocabSize()
	}
	if cfg.Model.Vocab != tok.VocabSize() {
		return Result{}, fmt.Errorf("sft: model.vocab = %d, the tokenizer has %d tokens", cfg.Model.Vocab, tok.VocabSize())
	}
	var m *policy.Model
	if initW != nil {
		m = policy.FromWeights(initW)
	} else if m, err = policy.New(cfg.Model); err != nil {
		return Result{}, err
	}
	opt := policy.NewAdamW(cfg.Optim, m.W)
	data := rand.New(rand.NewPCG(cfg.Seed, streamData))
	evalRng := rand.New(rand.NewPCG(cfg.Seed, streamEval))
	evalSet, err := reward.HeldOutSet(task, evalRng, cfg.EvalSize)
	if err != nil {
		return Result{}, err
	}
	eng := rollout.New(m.W, int32(tok.EOSID()))
	res := Result{Accuracy: math.NaN(), Checkpoint: out}
	start := time.Now()
	save := func() error {
		files, err := tok.HFFiles(cfg.Model.MaxSeqLen) // tokenizer.json and the HF files around it
		if err != nil {
			return err
		}
		meta, _ := json.MarshalIndent(map[string]any{"config": cfg, "result": res}, "", "  ")
		files["sft.json"] = append(meta, '\n')
		ck := &policy.Checkpoint{Weights: m.W, Optim: opt, Step: res.Steps, Files: files}
		return ck.Save(out)
	}
	seqs := make([][]int32, cfg.BatchSize)
	froms := make([]int, cfg.BatchSize)
	for step := 1; step <= cfg.MaxSteps; step++ {
		if ctx.Err() != nil {
			res.Reason, res.Interrupted = "interrupted", true
			break
		}
		maxLen := 0
		for i := range seqs {
			p := task.Generate(data, reward.Train)
			ids, err := tok.EncodePrompt(p.Prompt)
			if err != nil {
				return res, fmt.Errorf("sft: %sprompt %q: %w", where(p), p.Prompt, err)
			}
			froms[i] = len(ids)
			ans, err := tok.Encode(p.Answer)
			if err != nil {
				return res, fmt.Errorf("sft: %sanswer %q: %w", where(p), p.Answer, err)
			}
			for _, a := range ans {
				ids = append(ids, int32(a))
			}
			ids = append(ids, int32(tok.EOSID()))
			seqs[i] = ids
			maxLen = max(maxLen, len(ids)-1)
		}
		t := min((maxLen+7)/8*8, cfg.Model.MaxSeqLen) // few distinct shapes, so few graphs
		if maxLen > cfg.Model.MaxSeqLen {
			return res, fmt.Errorf("sft: sequences of %d tokens exceed model.max_seq_len = %d", maxLen+1, cfg.Model.MaxSeqLen)
		}
		bt := policy.NewBatch(cfg.BatchSize, t)
		for i, s := range seqs {
			if err := bt.SetRow(i, s, froms[i], int32(tok.PadID())); err != nil {
				return res, err
			}
			res.Tokens += len(s) - 1
		}
		loss, _, err := m.Accumulate(bt, 1, CrossEntropy)
		if err != nil {
			return res, fmt.Errorf("sft: step %d: %w", step, err)
		}
		if _, err := m.Step(opt); err != nil {
			return res, fmt.Errorf("sft: step %d: %w", step, err)
		}
		res.Steps = step
		evaluated := false
		if step%cfg.EvalEvery == 0 || step == cfg.MaxSteps {
			ev, err := rollout.EvaluateContext(ctx, eng, tok, task, evalSet, cfg.MaxNewToken, 0, rollout.Sampling{}, cfg.Seed, nil)
			if err != nil && ctx.Err() != nil {
				res.Reason, res.Interrupted = "interrupted", true
				break
			}
			if err != nil {
				return res, fmt.Errorf("sft: step %d: eval: %w", step, err)
			}
			res.Accuracy, evaluated = ev.Accuracy, true
		}
		if progress != nil {
			progress(Progress{Step: step, MaxSteps: cfg.MaxSteps, Loss: loss, Accuracy: res.Accuracy, Evaluated: evaluated})
		}
		if evaluated && res.Accuracy >= cfg.AccLow {
			res.Reason = "in_band"
			if res.Accuracy > cfg.AccHigh {
				res.Reason = "above_band"
			}
			break
		}
	}
	if res.Reason == "" {
		res.Reason = "max_steps"
	}
	res.Seconds = time.Since(start).Seconds()
	res.TokensPerS = float64(res.Tokens) / res.Seconds
	if err := save(); err != nil {
		return res, err
	}
	return res, nil
}

// CrossEntropy is the SFT objective: the mean negative log-likelihood of
// the target tokens.
func CrossEntropy(in *policy.HeadInput, g *policy.HeadGrad) (float64, map[string]float64, error) {
	n := 0
	for _, y := range in.Targets {
		if y >= 0 {
			n++
		}
	}
	if n == 0 {
		return 0, nil, nil
	}
	var loss float64
	inv := 1 / float64(n)
	for i, y := range in.Targets {
		if y >= 0 {
			loss -= in.Logp[i] * inv
			g.Logp[i] = -inv
		}
	}
	return loss, map[string]float64{"sft/loss": loss}, nil
}

func where(p reward.Problem) string {
	if p.Source == "" {
		return ""
	}
	return p.Source + ": "
}

// TokenizerFor returns the tokenizer a new base policy for the task gets:
// task.tokenizer when set; for a dataset without one, a character-level
// tokenizer of the training data's characters (tokens.FromChars); else the
// built-in vocabulary.
func TokenizerFor(cfg reward.Config, task reward.Task) (*tokens.Tokenizer, error) {
	if cfg.Tokenizer != "" {
		tok, err := tokens.Load(cfg.Tokenizer)
		if err != nil {
			return nil, fmt.Errorf("sft: task.tokenizer: %w", err)
		}
		return tok, nil
	}
	if d, ok := reward.Inner(task).(*reward.Dataset); ok {
		tok, err := tokens.FromChars(d.Chars())
		if err != nil {
			return nil, fmt.Errorf("sft: tokenizer from %s: %w", cfg.Train, err)
		}
		return tok, nil
	}
	return tokens.New(), nil
}

// CheckProblems checks every problem of a task that can list them all (a
// dataset; other tasks pass): its prompt and answer must be encodable by
// tok, and <bos> + prompt + answer + <eos> must fit a policy context of
// maxLen positions (maxLen + 1 tokens: the last is only a target). The
// first failure is an error naming the problem's file:line.
func CheckProblems(task reward.Task, tok *tokens.Tokenizer, maxLen int) error {
	st, ok := reward.Inner(task).(reward.Streamer)
	if !ok {
		return nil
	}
	return st.Each(func(p reward.Problem) error {
		ids, err := tok.EncodePrompt(p.Prompt)
		if err != nil {
			return fmt.Errorf("prompt %q: %w", p.Prompt, err)
		}
		a, err := tok.Encode(p.Answer)
		if err != nil {
			return fmt.Errorf("answer %q: %w", p.Answer, err)
		}
		if n := len(ids) + len(a) + 1; n-1 > maxLen {
			return fmt.Errorf("prompt + answer is %d tokens with <bos> and <eos>; a policy context of %d positions holds at most %d", n, maxLen, maxLen+1)
		}
		return nil
	})
}
