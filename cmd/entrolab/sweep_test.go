package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSweepExecutorsDryRun checks the sweep command's wiring: --executor
// slurm and k8s with --dry-run write the manifest and the job files and
// print them; the subcommands parse their arguments.
func TestSweepExecutorsDryRun(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	os.WriteFile("s.yaml", []byte(`name: dry
experiments: [grpo_addition]
seeds: [1, 2]
overrides: [["optim.lr=1e-4"], ["optim.lr=3e-4"]]
slurm: {partition: short, max_parallel: 2, entrolab: /opt/entrolab}
k8s: {image: "example/entrolab:1"}
`), 0o644)
	out, err := execute(t, "sweep", "-c", "s.yaml", "--executor", "slurm", "--dry-run")
	if err != nil {
		t.Fatalf("slurm dry run: %v\n%s", err, out)
	}
	for _, want := range []string{"#SBATCH --array=0-3%2", "#SBATCH --partition=short", "exec /opt/entrolab sweep run-cell", "sbatch --dependency=afterany:$A"} {
		if !strings.Contains(out, want) {
			t.Errorf("slurm dry run lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join("runs", "sweep-dry", "manifest.json")); err != nil {
		t.Errorf("no manifest: %v", err)
	}
	if _, err := os.Stat(filepath.Join("runs", "sweep-dry", "slurm", "jobs.json")); err == nil {
		t.Errorf("a dry run recorded a submission")
	}
	out, err = execute(t, "sweep", "-c", "s.yaml", "--executor", "k8s", "--dry-run")
	if err != nil || !strings.Contains(out, "completionMode: Indexed") || !strings.Contains(out, "kubectl apply -f") {
		t.Errorf("k8s dry run: %v\n%s", err, out)
	}
	if _, err := execute(t, "sweep", "-c", "s.yaml", "--executor", "k8s"); err == nil || !strings.Contains(err.Error(), "--dry-run") {
		t.Errorf("k8s without --dry-run: %v", err)
	}
	if _, err := execute(t, "sweep", "-c", "s.yaml", "--executor", "pbs"); err == nil || !strings.Contains(err.Error(), "local, slurm or k8s") {
		t.Errorf("unknown executor: %v", err)
	}
	out, err = execute(t, "sweep", "status", filepath.Join("runs", "sweep-dry"))
	if err != nil || !strings.Contains(out, "4 cells: 0 done") || !strings.Contains(out, "grpo_addition+optim.lr=0.0003-s2") {
		t.Errorf("status: %v\n%s", err, out)
	}
	if _, err := execute(t, "sweep", "run-cell", filepath.Join("runs", "sweep-dry"), "x"); err == nil || !strings.Contains(err.Error(), "INDEX") {
		t.Errorf("run-cell with a bad index: %v", err)
	}
	if _, err := execute(t, "sweep", "report", filepath.Join("runs", "sweep-dry")); err == nil || !strings.Contains(err.Error(), "no cell has finished") {
		t.Errorf("report of an unstarted sweep: %v", err)
	}
}
