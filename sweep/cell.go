package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/provenance"
	"github.com/entrolab/entrolab/runner"
	"github.com/entrolab/entrolab/serve"
	"github.com/entrolab/entrolab/trainer"
)

// Run-directory states read from the files.
const (
	stateNew     = "new"     // no checkpoint
	stateStarted = "started" // a checkpoint short of the last step
	stateDone    = "done"    // the checkpoint of the last step
)

// runState says whether a run directory is finished, started or new.
func runState(dir string, steps int) string {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest"))
	if err != nil {
		return stateNew
	}
	if strings.TrimSpace(string(b)) == fmt.Sprintf("step_%06d", steps) {
		return stateDone
	}
	return stateStarted
}

// CellState is cells/<id>.json: what the last process that ran the cell
// said about it. "running" may be stale when that process was killed;
// Status checks it against the process and squeue.
type CellState struct {
	State   string    `json:"state"` // running, done, interrupted, failed
	Step    int       `json:"step"`  // last finished step when written
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Job     string    `json:"job,omitempty"` // Slurm job (array_task) or Kubernetes pod
	Error   string    `json:"error,omitempty"`
	Updated time.Time `json:"updated"`
}

func statePath(dir string, cell Cell) string {
	return filepath.Join(dir, CellsDir, cell.ID+".json")
}

func writeState(dir string, cell Cell, st CellState) error {
	st.Host, _ = os.Hostname()
	st.PID = os.Getpid()
	st.Job = jobName()
	st.Updated = time.Now().UTC()
	b, _ := json.MarshalIndent(st, "", "  ")
	return atomicfile.Write(statePath(dir, cell), append(b, '\n'))
}

func readState(dir string, cell Cell) (CellState, bool) {
	var st CellState
	b, err := os.ReadFile(statePath(dir, cell))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

// jobName names the batch job running this process, if any.
func jobName() string {
	if a, t := os.Getenv("SLURM_ARRAY_JOB_ID"), os.Getenv("SLURM_ARRAY_TASK_ID"); a != "" && t != "" {
		return a + "_" + t
	}
	if j := os.Getenv("SLURM_JOB_ID"); j != "" {
		return j
	}
	if os.Getenv("JOB_COMPLETION_INDEX") != "" {
		if h, err := os.Hostname(); err == nil {
			return "pod/" + h
		}
	}
	return ""
}

// CellOptions tune RunCell.
type CellOptions struct {
	ID  string    // when set, the manifest's cell must have this id (the batch script's view of the grid)
	Log io.Writer // one line at start and end; nil: none
}

// ErrInterrupted is returned by RunCell when its context ended: the cell
// saved a checkpoint of its last finished step, and running it again
// continues from there.
var ErrInterrupted = errors.New("sweep: cell interrupted; its checkpoint is saved")

// RunCell runs cell idx of the sweep in dir, idempotently: a finished cell
// is skipped, a started one resumes from its last checkpoint, a new one
// starts. A run directory holding another config, a manifest whose cell idx
// no longer has opt.ID, or a missing base policy (Prepare makes them) is an
// error before any work. When ctx ends (SIGTERM from scancel or preemption)
// the cell checkpoints its last finished step and returns ErrInterrupted.
// It reports whether the cell was already finished.
func RunCell(ctx context.Context, dir string, idx int, opt CellOptions) (skipped bool, err error) {
	say := func(format string, a ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", a...)
		}
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return false, err
	}
	if idx < 0 || idx >= len(m.Cells) {
		return false, fmt.Errorf("sweep: cell index %d out of range: %s has %d cells (0..%d)", idx, dir, len(m.Cells), len(m.Cells)-1)
	}
	cell := m.Cells[idx]
	if opt.ID != "" && opt.ID != cell.ID {
		return false, fmt.Errorf("sweep: cell %d of %s is now %s (id %s), not the id %s this job was submitted for: the manifest changed since; resubmit", idx, dir, cell.Name, cell.ID, opt.ID)
	}
	cfg, err := cellConfig(dir, cell)
	if err != nil {
		return false, err
	}
	unlock, err := lockCell(dir, cell)
	if err != nil {
		return false, err
	}
	defer unlock()
	if err := checkStored(dir, cell, cfg); err != nil {
		return false, err
	}
	runDir := filepath.Join(dir, cell.Name)
	st := runState(runDir, cfg.Train.Steps)
	if st == stateDone {
		if s, ok := readState(dir, cell); !ok || s.State != "done" {
			writeState(dir, cell, CellState{State: "done", Step: cfg.Train.Steps})
		}
		if !exists(filepath.Join(runDir, serve.StatusFile)) { // finished before cells kept one
			serve.WriteStatus(runDir, serve.StateDone, "")
		}
		say("sweep: %s finished already; skipped", cell.Name)
		return true, nil
	}
	if base := trainer.BasePath(cfg); !exists(filepath.Join(base, "manifest.json")) {
		return false, fmt.Errorf("sweep: cell %s: base policy %s is missing (relative to %s); `entrolab sweep prepare %s` makes it", cell.Name, base, cwd(), dir)
	}
	fresh := st == stateNew
	if fresh {
		if err := restartable(runDir); err != nil {
			return false, fmt.Errorf("sweep: cell %s: %w", cell.Name, err)
		}
	}
	start := time.Now()
	res, err := runner.Run(ctx, cfg, runDir, runner.Options{
		Resume: !fresh, Force: fresh, Workers: max(1, m.Workers),
		Opened: func(r *trainer.RunDir) error {
			for _, n := range r.Notes {
				say("sweep: %s: note: %s", cell.Name, n)
			}
			step := r.Trainer.Step
			if err := writeState(dir, cell, CellState{State: "running", Step: step}); err != nil {
				return err
			}
			say("sweep: %s %s from step %d", cell.Name, map[bool]string{true: "resumes", false: "starts"}[step > 0], step)
			return nil
		},
	})
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		writeState(dir, cell, CellState{State: "interrupted", Step: res.Step})
		say("sweep: %s interrupted after step %d; checkpoint saved", cell.Name, res.Step)
		return false, ErrInterrupted
	case res.Interrupted: // saving the checkpoint failed
		writeState(dir, cell, CellState{State: "failed", Step: res.Step, Error: "checkpoint on interrupt: " + err.Error()})
		return false, fmt.Errorf("sweep: cell %s: %w", cell.Name, err)
	case err != nil && !res.Opened:
		return false, err
	case err != nil:
		writeState(dir, cell, CellState{State: "failed", Step: res.Step, Error: err.Error()})
		return false, fmt.Errorf("sweep: cell %s: %w", cell.Name, err)
	}
	if err := writeState(dir, cell, CellState{State: "done", Step: res.Step}); err != nil {
		return false, err
	}
	say("sweep: %s done in %.1fs", cell.Name, time.Since(start).Seconds())
	return false, nil
}

// lockCell takes cells/<id>.lock (flock, which NFSv4 and Lustre honour) so
// that two processes never run one cell; the lock goes with the process.
func lockCell(dir string, cell Cell) (func(), error) {
	path := filepath.Join(dir, CellsDir, cell.ID+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sweep: cell %s: %w", cell.Name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		holder := ""
		if st, ok := readState(dir, cell); ok && st.State == "running" {
			holder = fmt.Sprintf(" (pid %d on %s%s)", st.PID, st.Host, map[bool]string{true: ", job " + st.Job, false: ""}[st.Job != ""])
		}
		return nil, fmt.Errorf("sweep: cell %s is being run by another process%s; not starting a second", cell.Name, holder)
	}
	return func() { f.Close() }, nil
}

// restartable says whether a run directory without a checkpoint may be
// cleared for a fresh start: it is absent, empty, or holds only what a
// cell writes before its first checkpoint (its config.yaml, which
// checkStored already found equal, metrics and samples files and an empty
// checkpoints/). Anything else was not made by this sweep and is refused.
func restartable(runDir string) error {
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours := map[string]bool{"config.yaml": true, provenance.File: true, "metrics.jsonl": true, "samples.jsonl": true, "checkpoints": true, trainer.MarkerFile: true, trainer.LockFile: true, serve.StatusFile: true}
	for _, e := range ents {
		if !ours[e.Name()] {
			return fmt.Errorf("%s holds %s, which a cell does not write; not clearing it (remove it yourself if it is not needed)", runDir, e.Name())
		}
	}
	if ck, err := os.ReadDir(filepath.Join(runDir, "checkpoints")); err == nil {
		for _, e := range ck {
			if !strings.HasPrefix(e.Name(), ".step_") { // an interrupted save's temporary directory
				return fmt.Errorf("%s/checkpoints holds %s but no latest pointer; not clearing it", runDir, e.Name())
			}
		}
	}
	return nil
}

// Prepare makes the base policies of the sweep's cells that are missing,
// one at a time (cells of one task share one), so that cells running in
// parallel never train the same base twice.
func Prepare(ctx context.Context, dir string, log io.Writer) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, cell := range m.Cells {
		if err := ctx.Err(); err != nil {
			return err
		}
		cfg, err := cellConfig(dir, cell)
		if err != nil {
			return err
		}
		p := trainer.BasePath(cfg)
		if seen[p] {
			continue
		}
		seen[p] = true
		if exists(filepath.Join(p, "manifest.json")) {
			continue
		}
		fmt.Fprintf(log, "sweep: making base policy %s (SFT)\n", p)
		if _, _, err := trainer.LoadBase(cfg, nil); err != nil {
			return fmt.Errorf("sweep: base policy for %s: %w", cell.Name, err)
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func cwd() string {
	d, _ := os.Getwd()
	return d
}
