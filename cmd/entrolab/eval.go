package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/entrolab/entrolab/experiment"
	"github.com/entrolab/entrolab/internal/progress"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
	"github.com/entrolab/entrolab/tokens"
	"github.com/spf13/cobra"
)

type evalOptions struct {
	ckpt        string
	task        string
	n, k        int
	temperature float64
	maxNew      int
	seed        uint64
	json        bool
}

func newEvalCmd() *cobra.Command {
	o := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a checkpoint on a task's held-out split: greedy accuracy, mean@k, pass@k",
		Example: `  entrolab eval --ckpt runs/grpo_addition-s1 --k 16 --json
  entrolab eval --ckpt runs/grpo_addition-s1/checkpoints/latest --task addition`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEval(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.ckpt, "ckpt", "", "a checkpoint directory, a run directory (its latest checkpoint) or a checkpoints/latest pointer (required)")
	f.StringVar(&o.task, "task", "", "task name; default: the checkpoint's own task")
	f.IntVarP(&o.n, "problems", "n", 256, "held-out problems")
	f.IntVarP(&o.k, "k", "k", 64, "samples per problem for mean@k and the pass@k curve k = 1, 2, 4, … (0: greedy only)")
	f.Float64Var(&o.temperature, "temperature", 1, "sampling temperature for the k samples")
	f.IntVar(&o.maxNew, "max-new-tokens", 16, "completion length cap")
	f.Uint64Var(&o.seed, "seed", 1, "seed for the problems and samples")
	f.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	cmd.MarkFlagRequired("ckpt")
	return cmd
}

// loadBundle reads a checkpoint with its tokenizer and, if recorded, the task
// config it was trained on.
func loadBundle(dir string) (*policy.Checkpoint, *tokens.Tokenizer, *reward.Config, error) {
	ck, err := policy.LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	tj := ck.Files["tokenizer.json"]
	if tj == nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s has no tokenizer.json", dir)
	}
	tok, err := tokens.FromFiles(ck.Files)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if tok.VocabSize() != ck.Weights.Cfg.Vocab {
		return nil, nil, nil, fmt.Errorf("checkpoint %s: tokenizer has %d tokens, the model %d", dir, tok.VocabSize(), ck.Weights.Cfg.Vocab)
	}
	var meta struct {
		Config struct {
			Task *reward.Config `json:"task"`
		} `json:"config"`
	}
	for _, f := range []string{"sft.json", "run.json"} {
		if b := ck.Files[f]; b != nil && json.Unmarshal(b, &meta) == nil && meta.Config.Task != nil {
			return ck, tok, meta.Config.Task, nil
		}
	}
	return ck, tok, nil, nil
}

func runEval(cmd *cobra.Command, o *evalOptions) error {
	announceBLAS(cmd.ErrOrStderr())
	switch {
	case o.n < 1 || o.n > experiment.MaxEvalProblems:
		return fmt.Errorf("eval: -n/--problems = %d, want in [1, %d]", o.n, experiment.MaxEvalProblems)
	case o.k < 0 || o.k > experiment.MaxEvalK:
		return fmt.Errorf("eval: --k = %d, want in [0, %d]", o.k, experiment.MaxEvalK)
	case o.n*max(o.k, 1) > experiment.MaxEvalSamples:
		return fmt.Errorf("eval: -n × --k = %d × %d exceeds %d samples", o.n, o.k, experiment.MaxEvalSamples)
	case o.maxNew < 1 || o.maxNew > rollout.MaxRunNewTokens: // a run's bounds (rollout.Sampling.ValidateRun)
		return fmt.Errorf("eval: --max-new-tokens = %d, want in [1, %d]", o.maxNew, rollout.MaxRunNewTokens)
	case !(o.temperature > 0 && o.temperature <= rollout.MaxRunTemperature):
		return fmt.Errorf("eval: --temperature = %v, want in (0, %d]", o.temperature, rollout.MaxRunTemperature)
	}
	dir, err := resolveCheckpoint(o.ckpt)
	if err != nil {
		return err
	}
	if dir != o.ckpt {
		fmt.Fprintf(cmd.ErrOrStderr(), "eval: checkpoint %s\n", dir)
	}
	ck, tok, taskCfg, err := loadBundle(dir)
	if err != nil {
		return err
	}
	tc := reward.DefaultConfig()
	if taskCfg != nil {
		tc = *taskCfg
	}
	if o.task != "" {
		if taskCfg != nil && taskCfg.Name != o.task {
			fmt.Fprintf(cmd.ErrOrStderr(), "eval: note: checkpoint was trained on %s, evaluating on %s\n", taskCfg.Name, o.task)
		}
		tc.Name = o.task
	}
	task, err := reward.New(tc)
	if err != nil {
		return err
	}
	if c, ok := task.(io.Closer); ok {
		defer c.Close()
	}
	r := rand.New(rand.NewPCG(o.seed, 2))
	problems, err := reward.HeldOutSet(task, r, o.n)
	if err != nil {
		return err
	}
	eng := rollout.New(ck.Weights, int32(tok.EOSID()))
	s := rollout.Sampling{Temperature: o.temperature, TopP: 1, MaxNewTokens: o.maxNew, N: max(o.k, 1)}
	var bar *progress.Bar
	res, err := rollout.EvaluateProgress(eng, tok, task, problems, o.maxNew, o.k, s, o.seed, func(done, total int) {
		if bar == nil {
			bar = progress.New(cmd.ErrOrStderr(), "eval", total)
		}
		bar.Update(done, "")
	})
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.json {
		b, _ := json.MarshalIndent(map[string]any{"checkpoint": o.ckpt, "task": tc.Name, "result": res}, "", "  ")
		fmt.Fprintln(out, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "checkpoint\t%s\ntask\t%s (held-out, %d problems)\ngreedy accuracy\t%.3f\nmean reward (greedy)\t%.3f\n", o.ckpt, tc.Name, res.Problems, res.Accuracy, res.Reward)
	if o.k > 0 {
		fmt.Fprintf(tw, "mean@%d (T=%.2g)\t%.3f\npass@1\t%.3f\npass@%d\t%.3f\n", o.k, o.temperature, res.MeanAtK, res.PassAt1, o.k, res.PassAtK)
		var curve []string
		for _, pt := range res.Curve {
			curve = append(curve, fmt.Sprintf("%d: %.3f", pt.K, pt.Pass))
		}
		fmt.Fprintf(tw, "pass@k curve (k: pass@k)\t%s\n", strings.Join(curve, "  "))
	}
	return tw.Flush()
}

// resolveCheckpoint turns what --ckpt (or export's and score's argument)
// names into a checkpoint directory: a checkpoint directory itself (it has
// manifest.json) or a Hugging Face directory, a run directory (its
// checkpoints/latest), a checkpoints directory, or a "latest" pointer file.
func resolveCheckpoint(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", p, err)
	}
	if !st.IsDir() {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("checkpoint %s: %w", p, err)
		}
		name := strings.TrimSpace(string(b))
		if name == "" || strings.ContainsAny(name, "/\\") || name == ".." {
			return "", fmt.Errorf("checkpoint %s: not a checkpoint pointer (holds %q)", p, name)
		}
		return resolveCheckpoint(filepath.Join(filepath.Dir(p), name))
	}
	if _, err := os.Stat(filepath.Join(p, "manifest.json")); err == nil || policy.IsHFDir(p) {
		return p, nil
	}
	if _, err := os.Stat(filepath.Join(p, "checkpoints", "latest")); err == nil {
		return resolveCheckpoint(filepath.Join(p, "checkpoints", "latest"))
	}
	if _, err := os.Stat(filepath.Join(p, "latest")); err == nil {
		return resolveCheckpoint(filepath.Join(p, "latest"))
	}
	return "", fmt.Errorf("%s is neither a checkpoint (no manifest.json or config.json), a run directory (no checkpoints/latest) nor a checkpoints directory", p)
}
