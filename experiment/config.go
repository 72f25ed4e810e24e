package experiment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/entrolab/entrolab/method"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
	"github.com/entrolab/entrolab/sft"
)

// Config is one experiment. Every field has a default (DefaultConfig).
type Config struct {
	Name      string             `mapstructure:"name"` // experiment name, shown in plots
	Seed      uint64             `mapstructure:"seed"` // one seed makes the run reproducible
	Out       string             `mapstructure:"out"`  // run directory; default runs/<name>-s<seed>
	Base      BaseConfig         `mapstructure:"base"`
	Task      reward.Config      `mapstructure:"task"`
	Sampling  rollout.Sampling   `mapstructure:"sampling"`
	Algorithm AlgorithmConfig    `mapstructure:"algorithm"`
	Optim     policy.OptimConfig `mapstructure:"optim"`
	Train     TrainConfig        `mapstructure:"train"`
	Log       LogConfig          `mapstructure:"log"`
	Eval      EvalConfig         `mapstructure:"eval"`
	Ckpt      CkptConfig         `mapstructure:"checkpoint"`

	// Reward is an external reward command scoring the completions (README,
	// "Bring your own task"); none by default.
	Reward reward.CommandConfig `mapstructure:"reward"`
}

// BaseConfig says where the initial policy comes from.
type BaseConfig struct {
	// Checkpoint is a base policy directory. Empty: runs/base-<task>, made
	// with SFT (settings below) when missing and reused afterwards.
	Checkpoint string     `mapstructure:"checkpoint"`
	SFT        sft.Config `mapstructure:"sft"` // used only to make a missing base; its task is Task
}

// AlgorithmConfig selects the method: the policy loss and the parts at
// each phase of the step (package method).
type AlgorithmConfig = method.Config

// TrainConfig sizes the run.
type TrainConfig struct {
	Steps          int `mapstructure:"steps"`            // RL steps; default 300
	PromptsPerStep int `mapstructure:"prompts_per_step"` // prompts sampled per step; default 16
	PPOEpochs      int `mapstructure:"ppo_epochs"`       // passes over each step's samples; default 1
	MiniBatches    int `mapstructure:"mini_batches"`     // optimizer steps per epoch; default 4 (so clipping acts)
	MicroBatch     int `mapstructure:"micro_batch"`      // sequences per forward/backward; 0 = the whole mini-batch
}

// LogConfig sets what is printed and dumped.
type LogConfig struct {
	Every       int  `mapstructure:"every"`        // key=value line every N steps; default 10
	SampleEvery int  `mapstructure:"sample_every"` // dump samples every N steps; 0 = never; default 25
	Samples     int  `mapstructure:"samples"`      // samples per dump; default 8
	Diagnostics bool `mapstructure:"diagnostics"`  // entropy-mechanism diagnostic (one extra forward per step); default true
	// Keys are the metrics on each log line, in order (common ones printed
	// by a short name: reward, entropy, val_acc, ...); default DefaultLogKeys
	Keys []string `mapstructure:"keys"`
}

// EvalConfig sets held-out evaluation.
type EvalConfig struct {
	Every       int     `mapstructure:"every"`       // steps between evaluations; 0 = only at the end; default 25
	Problems    int     `mapstructure:"problems"`    // held-out problems; default 128
	K           int     `mapstructure:"k"`           // samples per problem for pass@k; 0 = greedy only; default 8
	FinalK      int     `mapstructure:"final_k"`     // K of the base's (step 0) and the last step's evaluation: their pass@k curves; default 64
	Temperature float64 `mapstructure:"temperature"` // for the k samples; default 1
}

// CkptConfig sets checkpointing.
type CkptConfig struct {
	Every int `mapstructure:"every"` // steps between checkpoints; default 25 (and always at the end)
	Keep  int `mapstructure:"keep"`  // newest checkpoints kept; default 2
}

// DefaultConfig is the method package's default recipe (group-normalised
// advantages, clipped surrogate) on 3-digit addition: 300 steps of 16 prompts × 8
// completions, 4 mini-batches per step (so later mini-batches are
// off-policy and clipping acts), AdamW at 1e-4.
func DefaultConfig() Config {
	task := reward.DefaultConfig()
	task.Name = "addition"
	o := policy.DefaultOptimConfig()
	o.LR = 1e-4
	o.WeightDecay = 0
	o.MaxGradNorm = 1
	return Config{
		Name:      method.DefaultName,
		Seed:      1,
		Base:      BaseConfig{SFT: sft.DefaultConfig()},
		Task:      task,
		Reward:    reward.DefaultCommandConfig(),
		Sampling:  rollout.DefaultRunSampling(),
		Algorithm: method.DefaultConfig(),
		Optim:     o,
		Train:     TrainConfig{Steps: 300, PromptsPerStep: 16, PPOEpochs: 1, MiniBatches: 4},
		Log:       LogConfig{Every: 10, SampleEvery: 25, Samples: 8, Diagnostics: true, Keys: slices.Clone(DefaultLogKeys)},
		Eval:      EvalConfig{Every: 25, Problems: 128, K: 8, FinalK: 64, Temperature: 1},
		Ckpt:      CkptConfig{Every: 25, Keep: 2},
	}
}

// Validate checks every section and the sizes against each other, naming
// the key, the value and what is allowed.
func (c Config) Validate() error {
	if err := ValidateName("trainer: name", c.Name); err != nil {
		return err
	}
	if err := c.checkLimits(); err != nil {
		return err
	}
	if err := c.Task.Validate(); err != nil {
		return fmt.Errorf("task: %w", err)
	}
	if err := c.Reward.Validate(); err != nil {
		return err
	}
	s := c.Sampling
	if err := s.ValidateRun("sampling"); err != nil {
		return err
	}
	if err := c.Algorithm.Validate(); err != nil {
		return err
	}
	if err := c.Algorithm.CheckPrompts(c.Train.PromptsPerStep); err != nil {
		return err
	}
	if err := c.Optim.Validate(); err != nil {
		return err
	}
	t := c.Train
	n := t.PromptsPerStep * s.N
	switch {
	case t.Steps < 1:
		return fmt.Errorf("trainer: train.steps = %d, want >= 1", t.Steps)
	case t.PromptsPerStep < 1:
		return fmt.Errorf("trainer: train.prompts_per_step = %d, want >= 1", t.PromptsPerStep)
	case t.PPOEpochs < 1:
		return fmt.Errorf("trainer: train.ppo_epochs = %d, want >= 1", t.PPOEpochs)
	case t.MiniBatches < 1 || n%t.MiniBatches != 0:
		return fmt.Errorf("trainer: train.mini_batches = %d must divide the %d sequences of a step (prompts_per_step %d × group_size %d)", t.MiniBatches, n, t.PromptsPerStep, s.N)
	case t.MicroBatch < 0 || (t.MicroBatch > 0 && (n/t.MiniBatches)%t.MicroBatch != 0):
		return fmt.Errorf("trainer: train.micro_batch = %d must divide the mini-batch of %d sequences (0 = whole mini-batch)", t.MicroBatch, n/t.MiniBatches)
	}
	l := c.Log
	switch {
	case l.Every < 1:
		return fmt.Errorf("trainer: log.every = %d, want >= 1", l.Every)
	case l.SampleEvery < 0:
		return fmt.Errorf("trainer: log.sample_every = %d, want >= 0", l.SampleEvery)
	case l.Samples < 0:
		return fmt.Errorf("trainer: log.samples = %d, want >= 0", l.Samples)
	case len(l.Keys) == 0:
		return fmt.Errorf("trainer: log.keys is empty, want metric names such as %s", DefaultLogKeys[0])
	}
	for _, k := range l.Keys {
		if k == "" || strings.ContainsAny(k, " \t=") {
			return fmt.Errorf("trainer: log.keys holds %q, want metric names such as %s", k, DefaultLogKeys[0])
		}
	}
	e := c.Eval
	switch {
	case e.Every < 0:
		return fmt.Errorf("trainer: eval.every = %d, want >= 0", e.Every)
	case e.Problems < 1:
		return fmt.Errorf("trainer: eval.problems = %d, want >= 1", e.Problems)
	case e.K < 0:
		return fmt.Errorf("trainer: eval.k = %d, want >= 0", e.K)
	case e.FinalK < 0:
		return fmt.Errorf("trainer: eval.final_k = %d, want >= 0", e.FinalK)
	case !(e.Temperature > 0):
		return fmt.Errorf("trainer: eval.temperature = %v, want > 0", e.Temperature)
	}
	if c.Ckpt.Every < 1 || c.Ckpt.Keep < 1 {
		return fmt.Errorf("trainer: checkpoint.every = %d and checkpoint.keep = %d, want both >= 1", c.Ckpt.Every, c.Ckpt.Keep)
	}
	return nil
}

// Upper limits of the sizes in a Config (README "Limits"). They are far
// above the bundled experiments and keep a typo (an extra few zeros) from
// allocating without bound or running without end; what a step holds in
// memory is also estimated against the machine before training
// (Trainer.checkMemory).
const (
	MaxSteps          = 10_000_000           // train.steps, checkpoint.every, eval.every, log.every, log.sample_every
	MaxPromptsPerStep = 4096                 // train.prompts_per_step
	MaxGroupSize      = rollout.MaxGroupSize // sampling.group_size (rollout.Sampling.ValidateRun)
	MaxSeqsPerStep    = 65536                // train.prompts_per_step × sampling.group_size
	MaxPPOEpochs      = 64                   // train.ppo_epochs
	MaxEvalProblems   = 100_000              // eval.problems
	MaxEvalK          = 1024                 // eval.k, eval.final_k
	MaxEvalSamples    = 1_000_000            // eval.problems × max(eval.k, eval.final_k, 1)
	MaxLogSamples     = 4096                 // log.samples
	MaxKeep           = 1000                 // checkpoint.keep
	MaxWarmupSteps    = MaxSteps             // optim.warmup_steps, optim.total_steps
)

// checkLimits refuses sizes above the documented upper limits.
func (c Config) checkLimits() error {
	for _, l := range []struct {
		key  string
		v    int
		max  int
		hint string
	}{
		{"train.steps", c.Train.Steps, MaxSteps, ""},
		{"train.prompts_per_step", c.Train.PromptsPerStep, MaxPromptsPerStep, ""},
		{"train.ppo_epochs", c.Train.PPOEpochs, MaxPPOEpochs, ""},
		{"train.mini_batches", c.Train.MiniBatches, MaxSeqsPerStep, ""},
		{"train.micro_batch", c.Train.MicroBatch, MaxSeqsPerStep, ""},
		{"eval.problems", c.Eval.Problems, MaxEvalProblems, ""},
		{"eval.k", c.Eval.K, MaxEvalK, ""},
		{"eval.final_k", c.Eval.FinalK, MaxEvalK, ""},
		{"eval.every", c.Eval.Every, MaxSteps, ""},
		{"log.every", c.Log.Every, MaxSteps, ""},
		{"log.sample_every", c.Log.SampleEvery, MaxSteps, ""},
		{"log.samples", c.Log.Samples, MaxLogSamples, ""},
		{"checkpoint.every", c.Ckpt.Every, MaxSteps, ""},
		{"checkpoint.keep", c.Ckpt.Keep, MaxKeep, ""},
		{"optim.warmup_steps", c.Optim.Warmup, MaxWarmupSteps, ""},
		{"optim.total_steps", c.Optim.TotalSteps, MaxWarmupSteps, ""},
	} {
		if l.v > l.max {
			return fmt.Errorf("trainer: %s = %d exceeds its upper limit %d", l.key, l.v, l.max)
		}
	}
	if n := c.Train.PromptsPerStep * c.Sampling.N; n > MaxSeqsPerStep {
		return fmt.Errorf("trainer: train.prompts_per_step × sampling.group_size = %d × %d = %d sequences per step exceeds the upper limit %d", c.Train.PromptsPerStep, c.Sampling.N, n, MaxSeqsPerStep)
	}
	for _, k := range []struct {
		key string
		v   int
	}{{"eval.k", c.Eval.K}, {"eval.final_k", c.Eval.FinalK}} {
		if n := c.Eval.Problems * max(k.v, 1); n > MaxEvalSamples {
			return fmt.Errorf("trainer: eval.problems × %s = %d × %d = %d samples per evaluation exceeds the upper limit %d", k.key, c.Eval.Problems, k.v, n, MaxEvalSamples)
		}
	}
	return nil
}
