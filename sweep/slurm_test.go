package sweep

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSlurmScripts(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte(`name: sl
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2]
set: ["train.steps=3"]
slurm:
  partition: cpu
  account: lab42
  time: "1:30:00"
  cpus_per_task: 2
  mem: 4G
  max_parallel: 3
  extra: ["--qos=short", "--constraint=avx2"]
  setup: ["module load openblas"]
  entrolab: /shared/bin/entrolab
`), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanSlurm(c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Workers != 2 {
		t.Errorf("workers = %d, want slurm.cpus_per_task = 2", m.Workers)
	}
	abs, _ := filepath.Abs(c.Out)
	wd, _ := os.Getwd()
	for _, line := range []string{
		"#SBATCH --array=0-3%3",
		"#SBATCH --partition=cpu",
		"#SBATCH --account=lab42",
		"#SBATCH --time=1:30:00",
		"#SBATCH --cpus-per-task=2",
		"#SBATCH --mem=4G",
		"#SBATCH --requeue",
		"#SBATCH --qos=short",
		"#SBATCH --constraint=avx2",
		"#SBATCH --chdir=" + wd,
		"#SBATCH --output=" + abs + "/slurm/%A_%a.out",
		"module load openblas",
		"ids=(" + m.Cells[0].ID + " " + m.Cells[1].ID + " " + m.Cells[2].ID + " " + m.Cells[3].ID + ")",
		`exec /shared/bin/entrolab sweep run-cell ` + abs + ` "$SLURM_ARRAY_TASK_ID" --id "${ids[$SLURM_ARRAY_TASK_ID]}"`,
	} {
		if !strings.Contains(p.Array, line+"\n") {
			t.Errorf("array script lacks %q:\n%s", line, p.Array)
		}
	}
	// #SBATCH lines are read only before the first command
	body := strings.Index(p.Array, "set -eu")
	if strings.LastIndex(p.Array, "#SBATCH") > body {
		t.Errorf("an #SBATCH line after the first command:\n%s", p.Array)
	}
	if p.Prepare == "" || !strings.Contains(p.Prepare, "sweep prepare "+abs) {
		t.Errorf("no base policy exists, so a prepare job is due:\n%s", p.Prepare)
	}
	if !strings.Contains(p.Report, "exec /shared/bin/entrolab sweep report "+abs) || strings.Contains(p.Report, "--array") {
		t.Errorf("report script:\n%s", p.Report)
	}
	for _, f := range []string{"array.sbatch", "prepare.sbatch", "report.sbatch"} {
		if _, err := os.Stat(filepath.Join(c.Out, "slurm", f)); err != nil {
			t.Errorf("%s not written", f)
		}
	}
	// a finished cell leaves the array
	done := filepath.Join(c.Out, m.Cells[1].Name, "checkpoints")
	os.MkdirAll(done, 0o755)
	os.WriteFile(filepath.Join(done, "latest"), []byte("step_000003\n"), 0o644)
	p, err = PlanSlurm(c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Cells, []int{0, 2, 3}) || !strings.Contains(p.Array, "#SBATCH --array=0,2-3%3\n") {
		t.Errorf("cells %v, array script:\n%s", p.Cells, p.Array)
	}
}

func TestArraySpec(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{[]int{0}, "0"}, {[]int{0, 1, 2, 3}, "0-3"}, {[]int{5, 0, 1, 7, 8}, "0-1,5,7-8"}, {[]int{2, 4, 6}, "2,4,6"}} {
		if got := arraySpec(tc.in); got != tc.want {
			t.Errorf("arraySpec(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSqueue(t *testing.T) {
	out := []byte("12_0|COMPLETING\n12_1|RUNNING\n12_3|PENDING\n15_1|PENDING\n99_0|RUNNING\n7|RUNNING\n12_9|PENDING\n")
	got := parseSqueue(out, map[string]bool{"12": true, "15": true}, 4)
	want := map[int]queued{0: {"12_0", "COMPLETING"}, 1: {"15_1", "PENDING"}, 3: {"12_3", "PENDING"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseSqueue = %v, want %v", got, want)
	}
}
