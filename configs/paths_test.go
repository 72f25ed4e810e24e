package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDatasetPaths: paths in an experiment file are relative to the file,
// paths from --set to the working directory; reward command arguments that
// name files become absolute, others stay.
func TestDatasetPaths(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp")
	os.MkdirAll(filepath.Join(exp, "data"), 0o755)
	line := []byte(`{"prompt": "a", "answer": "b"}` + "\n")
	os.WriteFile(filepath.Join(exp, "data", "train.jsonl"), line, 0o644)
	os.WriteFile(filepath.Join(exp, "data", "test.jsonl"), []byte(`{"prompt": "c", "answer": "d"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "score.py"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "other.jsonl"), []byte(`{"prompt": "e", "answer": "f"}`+"\n"), 0o644)
	yaml := `name: mine
task:
  name: dataset
  train: data/train.jsonl
  test: data/test.jsonl
reward:
  command: ["python3", "-u", "score.py", "--fast"]
`
	file := filepath.Join(exp, "mine.yaml")
	os.WriteFile(file, []byte(yaml), 0o644)
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	cfg, err := LoadTrain(file, nil, []string{"task.test=other.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(exp, "data", "train.jsonl"); cfg.Task.Train != want {
		t.Errorf("task.train = %s, want %s (relative to the file)", cfg.Task.Train, want)
	}
	if want := filepath.Join(dir, "other.jsonl"); cfg.Task.Test != want {
		t.Errorf("task.test = %s, want %s (--set: relative to the working directory)", cfg.Task.Test, want)
	}
	if got, want := strings.Join(cfg.Reward.Command, " "), "python3 -u "+filepath.Join(exp, "score.py")+" --fast"; got != want {
		t.Errorf("reward.command = %s, want %s", got, want)
	}
	// the resolved config reads back to the same paths from anywhere
	b, _ := Dump(cfg)
	os.WriteFile(filepath.Join(dir, "config.yaml"), b, 0o644)
	os.Chdir(t.TempDir())
	back, err := LoadTrain(filepath.Join(dir, "config.yaml"), nil, nil)
	if err != nil || back.Task.Train != cfg.Task.Train || back.Task.Test != cfg.Task.Test || back.Reward.Command[2] != cfg.Reward.Command[2] {
		t.Errorf("reloaded %+v %v, %v", back.Task, back.Reward.Command, err)
	}
	// a bad key of the new sections is named
	if _, err := LoadTrain(file, nil, []string{"reward.timeout=soon"}); err == nil || !strings.Contains(err.Error(), "reward.timeout") {
		t.Errorf("bad timeout: %v", err)
	}
}
