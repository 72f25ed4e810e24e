package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/progress"
	"github.com/entrolab/entrolab/plots"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/runner"
	"github.com/entrolab/entrolab/serve"
	"github.com/entrolab/entrolab/sft"
	"github.com/entrolab/entrolab/trainer"
	"github.com/spf13/cobra"
)

type trainOptions struct {
	config string
	sets   []string
	out    string
	resume string
	force  bool
	steps  int
	seed   uint64
	noPlot bool
	format string
	serve  string // listen address for the live view; "" = none

	changes []configs.Change // allowed setting changes of a resume
}

func newTrainCmd() *cobra.Command {
	o := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train [EXPERIMENT|FILE.yaml]",
		Short: "Run an RL experiment (default: GRPO on addition) and write metrics, checkpoints and plots",
		Long: `train runs one experiment: a bundled one by name (see 'entrolab configs') or a
YAML file (a file without name: is named after the file), given as the argument
or with -c. With no argument it runs ` + configs.DefaultExperiment + `. A missing base policy is
pre-trained with SFT first and cached under runs/base/<task>-<hash>, where
'entrolab sft' writes too; --set base.checkpoint=DIR uses another.

Settings: defaults < experiment YAML < ENTROLAB_* environment < --set key=value
< flags. An environment variable names a key with dots as underscores:
ENTROLAB_OPTIM_LR=1e-4 sets optim.lr. The resolved config is written to
RUN_DIR/config.yaml.

The run directory (default runs/<name>-s<seed>) gets metrics.jsonl (one
{"step": N, "data": {...}} line per step, verl's metric names), samples.jsonl,
checkpoints/ and, at the end, the figures; the base is evaluated first (val/*
at step 0) and the run ends with a summary. --resume RUN_DIR continues a run
exactly from its last checkpoint with the run's own config.yaml: only
train.steps, log.*, eval.every and checkpoint.* may be changed (each change is
recorded in RUN_DIR/config_history.jsonl); anything else is refused. One
process at a time writes a run directory (RUN_DIR/lock).`,
		Example: `  entrolab train
  entrolab train clip_cov_addition --set train.steps=200 --seed 2
  entrolab train -c clip_cov_addition --steps 50
  entrolab train my_experiment.yaml --out runs/mine
  entrolab train --resume runs/grpo_addition-s1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if o.config != "" && o.config != args[0] {
					return fmt.Errorf("train: give the experiment once: -c %s or %s", o.config, args[0])
				}
				o.config = args[0]
			}
			return runTrain(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", "", "experiment: a bundled name or a YAML file (same as the positional argument)")
	f.StringArrayVar(&o.sets, "set", nil, "override a setting, key=value (repeatable)")
	f.StringVar(&o.out, "out", "", "run directory (default runs/<name>-s<seed>)")
	f.StringVar(&o.resume, "resume", "", "continue the run in this directory from its last checkpoint")
	f.BoolVar(&o.force, "force", false, "overwrite an existing run directory")
	f.IntVar(&o.steps, "steps", 0, "RL steps (train.steps)")
	f.Uint64Var(&o.seed, "seed", 0, "random seed")
	f.BoolVar(&o.noPlot, "no-plots", false, "do not write figures at the end")
	f.StringVar(&o.format, "format", "png", "figure format: png, svg or pdf")
	f.StringVar(&o.serve, "serve", "", "serve the live view of the run's root while training and print its URL (--serve alone: "+serve.DefaultAddr+"; --serve=HOST:PORT)")
	f.Lookup("serve").NoOptDefVal = serve.DefaultAddr
	return cmd
}

func (o *trainOptions) resolve(cmd *cobra.Command) (trainer.Config, string, error) {
	sets := append([]string(nil), o.sets...)
	var flags []configs.Flag
	if cmd.Flags().Changed("steps") {
		flags = append(flags, configs.Flag{Name: "steps", Key: "train.steps", Value: fmt.Sprint(o.steps)})
	}
	if cmd.Flags().Changed("seed") {
		flags = append(flags, configs.Flag{Name: "seed", Key: "seed", Value: fmt.Sprint(o.seed)})
	}
	if o.resume != "" {
		if o.config != "" {
			return trainer.Config{}, "", errors.New("train: give either an experiment or --resume, not both")
		}
		path := filepath.Join(o.resume, "config.yaml")
		if _, err := os.Stat(path); err != nil {
			return trainer.Config{}, "", fmt.Errorf("train: --resume %s: %w", o.resume, err)
		}
		cfg, changes, err := configs.LoadResume(o.resume, os.Environ(), sets, flags)
		o.changes = changes
		return cfg, o.resume, err
	}
	cfg, err := configs.LoadTrainFlags(o.config, os.Environ(), sets, flags)
	if err != nil {
		return cfg, "", err
	}
	dir := o.out
	if dir == "" {
		dir = cfg.Out
	}
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-s%d", cfg.Name, cfg.Seed))
	}
	return cfg, dir, nil
}

func runTrain(cmd *cobra.Command, o *trainOptions) error {
	var lock *trainer.RunLock
	if o.resume != "" { // the lock first: a running writer is named before its files are read
		if _, err := os.Stat(o.resume); err != nil {
			return fmt.Errorf("train: --resume %s: %w", o.resume, err)
		}
		l, err := trainer.LockRun(o.resume)
		if err != nil {
			return err
		}
		lock = l
		defer lock.Unlock()
	}
	cfg, dir, err := o.resolve(cmd)
	if err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	announceBLAS(w)
	var sftBar, bar *progress.Bar
	var watchURL string
	stopServe := func() {}
	defer func() { stopServe() }()
	opened := func(r *trainer.RunDir) error {
		if sftBar != nil {
			sftBar.Done()
			sftBar = nil
		}
		cfg = r.Trainer.Cfg
		for _, n := range r.Notes {
			fmt.Fprintf(w, "train: note: %s\n", n)
		}
		if d, ok := reward.Inner(r.Trainer.Task).(*reward.Dataset); ok {
			fmt.Fprintln(w, "train: "+d.Summary())
		}
		fmt.Fprintf(w, "train: %s, seed %d, %d steps, base %s, run %s\n", cfg.Name, cfg.Seed, cfg.Train.Steps, r.Base, dir)
		if o.serve != "" {
			stop, url, err := startServe(cmd.Context(), w, filepath.Dir(dir), o.serve)
			if err != nil {
				return err
			}
			stopServe = stop
			watchURL = url + "run?id=" + filepath.Base(dir)
			fmt.Fprintf(w, "train: watch this run at %s\n", watchURL)
		}
		if r.Trainer.Step > 0 {
			fmt.Fprintf(w, "train: resuming after step %d\n", r.Trainer.Step)
		}
		bar = progress.New(w, "train", cfg.Train.Steps)
		r.Trainer.Observe(trainer.Logger{W: bar.Above(cmd.OutOrStdout())})
		r.Trainer.Observe(barObserver{bar})
		return nil
	}
	res, err := runner.Run(cmd.Context(), cfg, dir, runner.Options{
		Resume: o.resume != "", Force: o.force, Lock: lock, Changes: o.changes, Opened: opened,
		SFTProgress: func(p sft.Progress) {
			if sftBar == nil {
				fmt.Fprintf(w, "train: no base policy at %s; pre-training one with SFT\n", trainer.BasePath(cfg))
				sftBar = progress.New(w, "sft", p.MaxSteps)
			}
			acc := "n/a"
			if !math.IsNaN(p.Accuracy) {
				acc = fmt.Sprintf("%.3f", p.Accuracy)
			}
			sftBar.Update(p.Step, fmt.Sprintf("loss=%.4f acc=%s", p.Loss, acc))
		},
	})
	if sftBar != nil {
		sftBar.Done()
	}
	if bar != nil {
		bar.Done()
	}
	switch {
	case !res.Opened && err != nil && cmd.Context().Err() != nil:
		fmt.Fprintf(w, "train: interrupted before the run started: %v\n", err)
		return errInterrupted
	case errors.Is(err, runner.ErrInterrupted) && res.Saved:
		fmt.Fprintf(w, "train: interrupted after step %d; checkpoint saved in %s/checkpoints (resume with --resume %s)\n", res.Step, dir, dir)
		return errInterrupted
	case errors.Is(err, runner.ErrInterrupted):
		fmt.Fprintf(w, "train: interrupted before step 1 finished; nothing to save (--resume %s starts it again)\n", dir)
		return errInterrupted
	case res.Interrupted: // saving the checkpoint failed
		return fmt.Errorf("train: %w", err)
	case err != nil:
		if res.Opened && res.Step >= cfg.Ckpt.Every {
			fmt.Fprintf(w, "train: failed after step %d; the last checkpoint in %s/checkpoints is kept: resume with --resume %s\n", res.Step, dir, dir)
		}
		return err
	}
	if !o.noPlot {
		if err := trainer.CheckNoLinks(dir, "plots"); err != nil {
			return err
		}
		if err := writePlots(w, []string{dir}, filepath.Join(dir, "plots"), o.format, 0); err != nil {
			return err
		}
	}
	if err := printSummary(cmd.OutOrStdout(), dir, !o.noPlot); err != nil {
		return err
	}
	if watchURL != "" {
		fmt.Fprintf(w, "train: still serving %s (Ctrl-C to stop)\n", watchURL)
		<-cmd.Context().Done()
	}
	return nil
}

// printSummary is the run's last words: where its files are, and the base's
// reward, entropy and held-out accuracy against the final ones.
func printSummary(w io.Writer, dir string, plotted bool) error {
	run, err := plots.ReadRun(dir)
	if err != nil {
		return err
	}
	files := "metrics.jsonl, samples.jsonl, config.yaml, checkpoints/"
	if plotted {
		files += ", plots/"
	}
	if _, err := os.Stat(filepath.Join(dir, runner.HistoryFile)); err == nil {
		files += ", " + runner.HistoryFile
	}
	fmt.Fprintf(w, "train: done: %s (%s)\n", dir, files)
	for _, m := range []struct{ name, key, how string }{
		{"reward", plots.KeyReward, "first step -> mean of the last 10%"},
		{"entropy", plots.KeyEntropy, "first step -> mean of the last 10%"},
		{"held-out accuracy", plots.KeyValAccuracy, "base (step 0) -> last evaluation"},
	} {
		base, final, ok := plots.BaseFinal(run, m.key)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-18s %.3f -> %.3f  (%s)\n", m.name, base, final, m.how)
	}
	return nil
}

// startServe serves the live view of root on addr in the background and
// returns a stop function and the server's URL once it listens; a listen
// failure is returned before any training starts.
func startServe(ctx context.Context, w io.Writer, root, addr string) (stop func(), url string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, w, &serveOptions{root: root, addr: addr}, func(u string) { ready <- u }) }()
	select {
	case url = <-ready:
		return func() { cancel(); <-done }, url, nil
	case err = <-done:
		cancel()
		if err == nil {
			err = ctx.Err()
		}
		return nil, "", fmt.Errorf("train: --serve: %w", err)
	}
}

type barObserver struct{ b *progress.Bar }

func (o barObserver) OnStep(t *trainer.Trainer, r trainer.Record) error {
	if r.Step == 0 {
		return nil // the base's evaluation: no training metrics yet
	}
	o.b.Update(r.Step, fmt.Sprintf("reward=%.3f entropy=%.3f", r.Metrics["critic/score/mean"], r.Metrics["actor/entropy"]))
	return nil
}

// writePlots renders the figures of the runs in dirs into out, smoothed
// over smooth steps when smooth > 1.
func writePlots(w interface{ Write([]byte) (int, error) }, dirs []string, out, format string, smooth int) error {
	var runs []*plots.Run
	seen := map[string]bool{}
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil {
			if seen[abs] {
				continue // a run named twice is still one run
			}
			seen[abs] = true
		}
		r, err := plots.ReadRun(d)
		if err != nil {
			return err
		}
		runs = append(runs, plots.Smooth(r, smooth))
	}
	for _, l := range plots.SeriesLines(runs) {
		fmt.Fprintln(w, l)
	}
	files, err := plots.WriteAll(out, runs, format)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "plots: %d figures in %s\n", len(files), out)
	return nil
}
