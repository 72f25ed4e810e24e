package runner

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"weak"

	"github.com/entrolab/entrolab/trainer"
)

// TestFinishedRunIsFreed: once Run returns, nothing keeps the run's trainer
// (its model graphs, sampler buffers, optimizer) in memory. A sweep runs its
// cells one after another in one process; before, gorgonia's tape machines
// carried a finalizer inside a reference cycle, so every finished cell's
// trainer stayed (11.5 GB after the 60 cells of entropy_study).
func TestFinishedRunIsFreed(t *testing.T) {
	cfg := tiny()
	cfg.Eval.Every, cfg.Eval.K = 2, 4
	var wp weak.Pointer[trainer.Trainer]
	if _, err := Run(context.Background(), cfg, filepath.Join(t.TempDir(), "run"), Options{
		Opened: func(r *trainer.RunDir) error { wp = weak.Make(r.Trainer); return nil },
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	if wp.Value() != nil {
		t.Fatal("a finished run's trainer is still in memory after 4 collections")
	}
}
