package sweep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSweepRunsResumesAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	os.WriteFile("s.yaml", []byte(`name: tiny
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2]
set: ["train.steps=2", "eval.problems=8", "eval.every=0", "base.sft.max_steps=40", "base.sft.eval_every=40"]
`), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Runs()) != 4 {
		t.Fatalf("%d runs, want 4", len(c.Runs()))
	}
	var log bytes.Buffer
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, f := range []string{"summary.md", "summary.csv", "report.html", "plots/entropy.png", "grpo_addition-s2/metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(c.Out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(c.Out, "summary.md"))
	if !strings.Contains(string(md), "clip_cov_addition") {
		t.Errorf("summary lacks a run:\n%s", md)
	}
	// again: every run is finished, so all are skipped
	log.Reset()
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "skipped") != 4 {
		t.Errorf("second execution did not skip the finished runs:\n%s", log.String())
	}
	// a longer sweep resumes the same runs from their checkpoints
	c2, _ := Load("s.yaml", []string{"train.steps=3"})
	log.Reset()
	if err := Execute(context.Background(), c2, &log); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "resumes from step 2") != 4 {
		t.Errorf("extended sweep did not resume:\n%s", log.String())
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\nexperiments: []\n", "experiments is empty"},
		{"name: x\nexperiments: [nope]\n", "nope"},
		{"name: x\nexperiments: [grpo_addition]\nseedz: [1]\n", "seedz"},
		{"name: x\nexperiments: [grpo_addition]\nset: [\"train.steps=0\"]\n", "train.steps"},
	} {
		p := filepath.Join(dir, "s.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want an error naming %q", tc.yaml, err, tc.want)
		}
	}
	if _, err := Load("entropy_methods_addition", nil); err != nil {
		t.Errorf("bundled sweep: %v", err)
	}
}
