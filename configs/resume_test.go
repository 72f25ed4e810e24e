package configs

import (
	"strings"
	"testing"
)

// TestResumeRefusesChangedSettings: a resume may extend the run and change
// its logging, evaluation and checkpoint cadence; any other change is
// refused naming the key, the run's value and the requested one.
func TestResumeRefusesChangedSettings(t *testing.T) {
	cfg, err := LoadTrain("grpo_addition", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteResolved(dir, cfg); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadResume(dir, nil, []string{"optim.lr=1e-3"}, nil)
	if err == nil || !strings.Contains(err.Error(), "optim.lr is 0.0001 in the run, 0.001 by --set optim.lr=1e-3") {
		t.Fatalf("changed lr: %v", err)
	}
	_, _, err = LoadResume(dir, []string{"ENTROLAB_SAMPLING_TOP_K=5"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "sampling.top_k") || !strings.Contains(err.Error(), "ENTROLAB_SAMPLING_TOP_K") {
		t.Fatalf("changed top_k: %v", err)
	}
	got, changes, err := LoadResume(dir, nil, []string{"train.steps=400", "log.every=5", "eval.every=50"}, nil)
	if err != nil || got.Train.Steps != 400 || len(changes) != 3 || changes[2] != (Change{Key: "train.steps", Old: "300", New: "400"}) {
		t.Fatalf("allowed changes: %v %+v", err, changes)
	}
	if _, changes, err := LoadResume(dir, nil, nil, nil); err != nil || len(changes) != 0 {
		t.Fatalf("plain resume: %v %v", err, changes)
	}
}
