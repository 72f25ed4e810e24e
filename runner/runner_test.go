package runner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/serve"
	"github.com/entrolab/entrolab/trainer"
)

func tiny() trainer.Config {
	c := trainer.DefaultConfig()
	c.Base.Checkpoint = policytest.BaseDir()
	c.Sampling.MaxNewTokens = 6
	c.Sampling.N = 4
	c.Train.PromptsPerStep, c.Train.Steps = 4, 3
	c.Eval.Every, c.Eval.Problems, c.Eval.K = 0, 8, 0
	c.Log.SampleEvery, c.Log.Diagnostics = 0, false
	c.Ckpt.Every = 2
	return c
}

func status(t *testing.T, dir string) serve.Status {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, serve.StatusFile))
	if err != nil {
		t.Fatal(err)
	}
	var st serve.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// stopAt cancels the run when step n is finished.
type stopAt struct {
	n      int
	cancel context.CancelFunc
}

func (s stopAt) OnStep(_ *trainer.Trainer, r trainer.Record) error {
	if r.Step == s.n {
		s.cancel()
	}
	return nil
}

// A run writes its files and status.json; an interrupt after step 1 saves
// step 1 and says interrupted; running it again resumes and ends done; the
// resume's changed setting is recorded.
func TestRunInterruptResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Run(ctx, tiny(), dir, Options{Opened: func(r *trainer.RunDir) error {
		r.Trainer.Observe(stopAt{1, cancel})
		return nil
	}})
	if !errors.Is(err, ErrInterrupted) || !res.Saved || !res.Interrupted || res.Step != 1 {
		t.Fatalf("interrupted run: %+v, %v; want saved at step 1", res, err)
	}
	if st := status(t, dir); st.State != serve.StateInterrupted {
		t.Fatalf("status after the interrupt: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "step_000001")); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadResolved(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Train.Steps = 4
	res, err = Run(context.Background(), cfg, dir, Options{Resume: true, Changes: []configs.Change{{Key: "train.steps", Old: "3", New: "4"}}})
	if err != nil || res.Step != 4 || res.Interrupted {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}
	if st := status(t, dir); st.State != serve.StateDone || st.PID != os.Getpid() {
		t.Fatalf("status at the end: %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil || string(b) != `{"from_step":2,"key":"train.steps","new":"4","old":"3"}`+"\n" {
		t.Fatalf("%s: %q, %v", HistoryFile, b, err)
	}
}

// An interrupt before step 1 finishes saves nothing (a step-0 checkpoint
// could not be resumed from), and the directory starts again.
func TestRunInterruptBeforeFirstStep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	res, err := Run(ctx, tiny(), dir, Options{Opened: func(r *trainer.RunDir) error {
		cancel()
		return nil
	}})
	if !errors.Is(err, ErrInterrupted) || res.Saved || res.Step != 0 {
		t.Fatalf("run interrupted at once: %+v, %v", res, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "checkpoints")); len(ents) != 0 {
		t.Fatalf("checkpoints/ holds %v, want nothing", ents)
	}
	if st := status(t, dir); st.State != serve.StateInterrupted {
		t.Fatalf("status: %+v", st)
	}
	res, err = Run(context.Background(), tiny(), dir, Options{Resume: true})
	if err != nil || res.Step != 3 {
		t.Fatalf("run again: %+v, %v", res, err)
	}
}

// A failed step says failed, with the error, in status.json.
func TestRunFailed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	boom := errors.New("boom")
	_, err := Run(context.Background(), tiny(), dir, Options{Opened: func(r *trainer.RunDir) error {
		r.Trainer.Observe(failAt{2, boom})
		return nil
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want boom", err)
	}
	if st := status(t, dir); st.State != serve.StateFailed || st.Error != "boom" {
		t.Fatalf("status: %+v", st)
	}
}

type failAt struct {
	n   int
	err error
}

func (f failAt) OnStep(_ *trainer.Trainer, r trainer.Record) error {
	if r.Step == f.n {
		return f.err
	}
	return nil
}
