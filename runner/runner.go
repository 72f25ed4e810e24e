// Package runner is one run's lifecycle in its run directory, the same for
// `entrolab train` and every sweep cell (sweep.RunCell), in this order:
//
//	lock       RUN_DIR/lock: one writer at a time (trainer.LockRun)
//	open       a fresh run, a forced one, or a resume from the newest
//	           checkpoint that loads (trainer.OpenContext)
//	config     config_history.jsonl (what a resume changed), then
//	           config.yaml (the resolved config, what a resume reads back),
//	           then a line of provenance.jsonl (commit and date of this
//	           process)
//	observe    metrics.jsonl and samples.jsonl, checkpoints every
//	           checkpoint.every steps and at the end, then the caller's
//	           observers (a log, a progress bar)
//	status     status.json: running, then done, failed or interrupted (the
//	           format of package serve, whose live view reads it)
//	run        the base's step-0 evaluation (fresh runs), then the steps
//	interrupt  a checkpoint of the last finished step, so running the
//	           directory again continues exactly
//
// What a caller shows (progress, notes, figures, a sweep's cell states) it
// does in Options.Opened and with the Result.
//
// Fed by: a validated config (configs). Used by: cmd/entrolab, sweep.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/provenance"
	"github.com/entrolab/entrolab/serve"
	"github.com/entrolab/entrolab/sft"
	"github.com/entrolab/entrolab/trainer"
)

// HistoryFile records the settings a resume changed, one JSON line per
// change: {"from_step": N, "key": ..., "old": ..., "new": ...}, N being the
// first step run with the new value.
const HistoryFile = "config_history.jsonl"

// Options say how to run a directory.
type Options struct {
	Resume bool // continue from the newest checkpoint (a directory without one starts again)
	Force  bool // clear a directory entrolab made that holds another run

	// Lock is the run directory's lock when the caller holds it already
	// (train --resume takes it before it reads the run's config); nil: Run
	// takes it and releases it when it returns.
	Lock *trainer.RunLock

	// Workers is the cores the trainer uses (graph replicas, sampler
	// workers); 0: all. A sweep fixes it: it changes a run's last bits.
	Workers int

	SFTProgress func(sft.Progress) // pre-training of a missing base; nil: quiet
	Changes     []configs.Change   // the settings a resume changed (HistoryFile)

	// Opened is called once the directory is open and its config written,
	// before status.json says running and before the base's evaluation:
	// the place to report Notes and attach further observers. An error
	// stops the run before it starts.
	Opened func(r *trainer.RunDir) error
}

// Result is how a run ended.
type Result struct {
	Opened      bool   // the directory was opened (Open and Opened succeeded)
	Step        int    // the last finished step
	Base        string // the base policy's directory
	Interrupted bool   // the context ended the run
	// Saved: a checkpoint of Step was written on the interrupt (none is
	// when no step finished: the directory then starts again).
	Saved bool
}

// ErrInterrupted is returned when the context ended the run and its state
// was saved (Result.Saved; nothing to save before step 1): running the
// directory again continues from the last finished step.
var ErrInterrupted = errors.New("runner: interrupted")

// Run runs cfg in dir from lock to final status (see the package comment).
// A failed step is not checkpointed: the last periodic checkpoint stays.
func Run(ctx context.Context, cfg trainer.Config, dir string, opt Options) (res Result, err error) {
	if opt.Lock == nil {
		l, err := trainer.LockRun(dir)
		if err != nil {
			return res, err
		}
		defer l.Unlock()
	}
	r, err := trainer.OpenContext(ctx, cfg, dir, opt.Resume, opt.Force, opt.SFTProgress)
	if err != nil {
		return res, err
	}
	defer r.Close()
	t := r.Trainer
	res.Base, res.Step = r.Base, t.Step
	if opt.Workers > 0 {
		t.SetWorkers(opt.Workers)
	}
	if err := recordChanges(dir, t.Step, opt.Changes); err != nil {
		return res, err
	}
	if err := configs.WriteResolved(dir, t.Cfg); err != nil {
		return res, err
	}
	if err := provenance.Append(dir, t.Step); err != nil { // the commit and date this process runs the run with
		return res, err
	}
	t.Observe(trainer.MetricsWriter{Dir: dir})
	t.Observe(trainer.Checkpointer{Run: r})
	if opt.Opened != nil {
		if err := opt.Opened(r); err != nil {
			return res, err
		}
	}
	res.Opened = true
	if err := serve.WriteStatus(dir, serve.StateRunning, ""); err != nil {
		return res, err
	}
	runErr := r.EvaluateBase()
	if runErr == nil {
		runErr = t.Run(ctx)
	}
	res.Step = t.Step
	if runErr != nil && ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
		// Trainer.Run stops between steps (or undoes the step it was in), so
		// the state is whole: save it
		res.Interrupted = true
		if t.Step > 0 {
			if err := r.Checkpoint(); err != nil {
				serve.WriteStatus(dir, serve.StateFailed, "checkpoint on interrupt: "+err.Error())
				return res, fmt.Errorf("runner: interrupted after step %d; saving a checkpoint failed: %w", t.Step, err)
			}
			res.Saved = true
		}
		if err := serve.WriteStatus(dir, serve.StateInterrupted, ""); err != nil {
			return res, err
		}
		return res, ErrInterrupted
	}
	if runErr != nil { // a failed step (a reward command's error too)
		serve.WriteStatus(dir, serve.StateFailed, runErr.Error())
		return res, runErr
	}
	return res, serve.WriteStatus(dir, serve.StateDone, "")
}

func recordChanges(dir string, step int, changes []configs.Change) error {
	for _, c := range changes {
		b, _ := json.Marshal(map[string]any{"from_step": step + 1, "key": c.Key, "old": c.Old, "new": c.New})
		if err := atomicfile.Append(filepath.Join(dir, HistoryFile), append(b, '\n')); err != nil {
			return fmt.Errorf("runner: %s: %w", HistoryFile, err)
		}
	}
	return nil
}
