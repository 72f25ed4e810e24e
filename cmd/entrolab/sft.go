package main

import (
	"fmt"
	"os"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/progress"
	"github.com/entrolab/entrolab/sft"
	"github.com/entrolab/entrolab/trainer"
	"github.com/spf13/cobra"
)

type sftOptions struct {
	task   string
	out    string
	config string
	sets   []string
	force  bool
	steps  int
	seed   uint64
	init   string
}

func newSFTCmd() *cobra.Command {
	o := &sftOptions{}
	cmd := &cobra.Command{
		Use:   "sft",
		Short: "Pre-train a base policy on a toy task (supervised), stopping in a held-out accuracy band",
		Long: `sft trains a small policy on generated (prompt, answer) pairs of a task and stops
once greedy accuracy on the held-out split is inside [acc_low, acc_high]
(default 30–60%), so that RL has headroom. The checkpoint (weights, optimizer,
tokenizer.json, sft.json) goes to runs/base/<task>-<hash of the settings>: the
cache train looks in, so 'entrolab train' on that task with the same base
settings (base.sft.*) reuses it instead of training its own. With --out DIR
use it in any run with --set base.checkpoint=DIR.

Settings: defaults < --config YAML < ENTROLAB_* environment < --set key=value < flags.
Keys: task.name, task.addition.digits, model.d_model, model.n_layers, model.n_heads,
model.max_seq_len, optim.lr, optim.warmup_steps, batch_size, max_steps, eval_every,
eval_size, acc_low, acc_high, max_new_tokens, seed (see 'entrolab sft --help').`,
		Example: `  entrolab sft --task addition
  entrolab sft --task countdown --set model.d_model=128 --set acc_low=0.2 --out runs/base-countdown-wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.resolve(cmd)
			if err != nil {
				return err
			}
			return runSFT(cmd, o, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.task, "task", "", "task name (addition, multiplication, countdown); default addition")
	f.StringVar(&o.out, "out", "", "checkpoint directory (default runs/base/<task>-<hash of the settings>, where train looks)")
	f.StringVarP(&o.config, "config", "c", "", "YAML file with SFT settings")
	f.StringArrayVar(&o.sets, "set", nil, "override a setting, key=value (repeatable)")
	f.BoolVar(&o.force, "force", false, "overwrite an existing output directory")
	f.IntVar(&o.steps, "steps", 0, "maximum steps (max_steps)")
	f.Uint64Var(&o.seed, "seed", 0, "random seed")
	f.StringVar(&o.init, "init", "", "start from this checkpoint or Hugging Face GPT-2 directory (init)")
	return cmd
}

// resolve builds the run's config from defaults, file, environment, --set
// and flags, and validates it.
func (o *sftOptions) resolve(cmd *cobra.Command) (sft.Config, error) {
	// train's defaults for a base: its completion length is the RL one, so
	// a base made here with the same settings is the one train reuses
	// (taken from the task's bundled GRPO experiment when there is one)
	task := o.task
	if task == "" {
		task = "addition"
	}
	tc, err := configs.LoadTrain("grpo_"+task, nil, nil)
	if err != nil {
		tc = trainer.DefaultConfig()
		tc.Task.Name = task
	}
	cfg := trainer.BaseSFT(tc)
	sets := append([]string(nil), o.sets...)
	if cmd.Flags().Changed("task") {
		sets = append(sets, "task.name="+o.task)
	}
	if cmd.Flags().Changed("steps") {
		sets = append(sets, fmt.Sprintf("max_steps=%d", o.steps))
	}
	if cmd.Flags().Changed("seed") {
		sets = append(sets, fmt.Sprintf("seed=%d", o.seed))
	}
	if cmd.Flags().Changed("init") {
		sets = append(sets, "init="+o.init)
	}
	if err := configs.Load(&cfg, configs.Source{File: o.config, Env: os.Environ(), Sets: sets}); err != nil {
		return cfg, err
	}
	configs.ResolvePaths(&cfg.Task, nil, o.config)
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if o.out == "" {
		o.out = trainer.SFTPath(cfg)
	}
	return cfg, nil
}

func runSFT(cmd *cobra.Command, o *sftOptions, cfg sft.Config) error {
	w := cmd.ErrOrStderr()
	announceBLAS(w)
	fmt.Fprintf(w, "sft: task %s, model d=%d L=%d H=%d, batch %d, target accuracy [%.2f, %.2f], out %s\n",
		cfg.Task.Name, cfg.Model.DModel, cfg.Model.NLayers, cfg.Model.NHeads, cfg.BatchSize, cfg.AccLow, cfg.AccHigh, o.out)
	bar := progress.New(w, "sft", cfg.MaxSteps)
	acc := "n/a"
	res, err := sft.Run(cmd.Context(), cfg, o.out, o.force, func(p sft.Progress) {
		if p.Evaluated {
			acc = fmt.Sprintf("%.3f", p.Accuracy)
		}
		bar.Update(p.Step, fmt.Sprintf("loss=%.4f acc=%s", p.Loss, acc))
	})
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sft: %s after %d steps (%.1fs, %.0f tokens/s): held-out greedy accuracy %.3f; checkpoint %s\n",
		res.Reason, res.Steps, res.Seconds, res.TokensPerS, res.Accuracy, res.Checkpoint)
	if o.out == trainer.SFTPath(cfg) {
		fmt.Fprintf(cmd.OutOrStdout(), "sft: train on task %s with these settings reuses it; any run can also use it with --set base.checkpoint=%s\n", cfg.Task.Name, o.out)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "sft: use it with: entrolab train --set base.checkpoint=%s\n", o.out)
	}
	if res.Interrupted {
		return errInterrupted
	}
	return nil
}
