package sweep

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/entrolab/entrolab/policy/policytest"
)

// slurmOrSkip returns when a Slurm cluster with an idle node answers here;
// otherwise it skips, saying why — or fails when ENTROLAB_SLURM_TEST=1 (CI
// brought one up with scripts/slurm-local.sh and expects it to be used).
func slurmOrSkip(t testing.TB) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("sbatch"); err != nil {
		why = "sbatch is not on PATH"
	} else if out, err := sinfo(); err != nil {
		why = "sinfo failed: " + err.Error()
	} else if !strings.Contains(string(out), "idle") && !strings.Contains(string(out), "mix") {
		why = fmt.Sprintf("no idle Slurm node (sinfo: %q)", strings.TrimSpace(string(out)))
	}
	if why == "" {
		return
	}
	if os.Getenv("ENTROLAB_SLURM_TEST") == "1" {
		t.Fatalf("ENTROLAB_SLURM_TEST=1 but %s", why)
	}
	t.Skipf("no Slurm here (%s); `sudo scripts/slurm-local.sh up` starts a one-node cluster", why)
}

// sinfo lists the node states; a configured cluster whose controller is
// down makes sinfo retry, so it gets 15 s.
func sinfo() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "sinfo", "-h", "-o", "%T").Output()
}

// packageDir is this package's source directory (tests start there; some
// move to a temporary directory later).
var packageDir, _ = os.Getwd()

// buildEntrolab builds the CLI into dir: the binary the batch jobs run.
func buildEntrolab(t testing.TB, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "entrolab")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/entrolab/entrolab/cmd/entrolab")
	cmd.Dir = packageDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

func entrolab(t testing.TB, exe, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("entrolab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitJobs polls squeue until none of the jobs is listed.
func waitJobs(t testing.TB, timeout time.Duration, jobs ...string) {
	t.Helper()
	var ids []string
	for _, j := range jobs {
		if j != "" {
			ids = append(ids, j)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		out, err := exec.Command("squeue", "-h", "-j", strings.Join(ids, ",")).Output()
		if err == nil && len(bytes.TrimSpace(out)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sq, _ := exec.Command("squeue").CombinedOutput()
			t.Fatalf("jobs %v still queued after %v:\n%s", ids, timeout, sq)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func lastSubmission(t testing.TB, dir string) Submission {
	t.Helper()
	subs, err := readSubmissions(dir)
	if err != nil || len(subs) == 0 {
		t.Fatalf("no submission recorded in %s: %v", dir, err)
	}
	return subs[len(subs)-1]
}

// csvWithoutTiming reads a CSV file without its steps_per_sec column (runs.csv has one).
func csvWithoutTiming(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "steps_per_sec" {
			col = i
		}
	}
	for i, r := range rows {
		if col >= 0 {
			rows[i] = append(r[:col:col], r[col+1:]...)
		}
	}
	return rows
}

// TestSlurmSweepMatchesLocal submits a small sweep through sbatch, cancels
// one running task with scancel (the cell checkpoints on SIGTERM),
// resubmits (only that cell), and checks that the gathered report equals
// the same sweep run with the local executor, metrics identical apart from
// timing.
func TestSlurmSweepMatchesLocal(t *testing.T) {
	slurmOrSkip(t)
	work := t.TempDir()
	exe := buildEntrolab(t, work)
	sweepFile := func(out string) string {
		return `name: slurmci
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2]
set: ["train.steps=60", "train.prompts_per_step=4", "sampling.group_size=4", "eval.problems=8", "eval.k=2", "eval.every=30", "log.sample_every=0", "checkpoint.every=4", "base.sft.max_steps=40", "base.sft.eval_every=40"]
workers: 1
parallel: 2
out: ` + out + `
slurm: {max_parallel: 2, cpus_per_task: 1, time: "15:00", mem: 1000M, extra: ["--nice=0"]}
`
	}
	os.WriteFile(filepath.Join(work, "slurm.yaml"), []byte(sweepFile("runs/sweep-slurm")), 0o644)
	os.WriteFile(filepath.Join(work, "local.yaml"), []byte(sweepFile("runs/sweep-local")), 0o644)
	sdir := filepath.Join(work, "runs", "sweep-slurm")

	out := entrolab(t, exe, work, "sweep", "-c", "slurm.yaml", "--executor", "slurm")
	t.Logf("submitted:\n%s", out)
	s := lastSubmission(t, sdir)
	if s.Prepare == "" || s.Array == "" || s.Report == "" || len(s.Cells) != 4 {
		t.Fatalf("first submission %+v: want a base-policy job, an array of 4 and a report job", s)
	}
	m, err := ReadManifest(sdir)
	if err != nil {
		t.Fatal(err)
	}

	// with two tasks running mid-way: cancel one (scancel: it checkpoints on
	// SIGTERM and stays unfinished) and requeue the other (preemption's path:
	// it checkpoints, is requeued by --requeue and resumes in the same array)
	victim, requeued := -1, -1
	deadline := time.Now().Add(4 * time.Minute)
	for victim < 0 {
		if time.Now().After(deadline) {
			t.Fatal("two tasks were never seen running mid-way at once")
		}
		var mid []int
		var jobs []string
		for task, q := range squeueStates(sdir, m) {
			step := lastStep(filepath.Join(sdir, m.Cells[task].Name, "metrics.jsonl"))
			if q.state == "RUNNING" && step >= 2 && step <= 50 {
				mid, jobs = append(mid, task), append(jobs, q.job)
			}
		}
		if len(mid) < 2 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		victim, requeued = mid[0], mid[1]
		if out, err := exec.Command("scancel", jobs[0]).CombinedOutput(); err != nil {
			t.Fatalf("scancel %s: %v\n%s", jobs[0], err, out)
		}
		if out, err := exec.Command("scontrol", "requeue", jobs[1]).CombinedOutput(); err != nil {
			t.Fatalf("scontrol requeue %s: %v\n%s", jobs[1], err, out)
		}
		t.Logf("scancel %s (cell %s), scontrol requeue %s (cell %s)", jobs[0], m.Cells[victim].Name, jobs[1], m.Cells[requeued].Name)
		// a requeued job waits (BeginTime) before it may start again; once it
		// is pending, let it start now
		for i := 0; ; i++ {
			if i == 600 {
				t.Fatalf("requeued task %s never became pending", jobs[1])
			}
			if b, _ := os.ReadFile(filepath.Join(sdir, "slurm", fmt.Sprintf("%s_%d.out", s.Array, requeued))); bytes.Contains(b, []byte("resumes from step")) {
				break // it started again by itself
			}
			if q := squeueStates(sdir, m)[requeued]; q.state == "PENDING" {
				if out, err := exec.Command("scontrol", "update", "jobid="+jobs[1], "StartTime=now").CombinedOutput(); err != nil {
					t.Fatalf("scontrol update %s StartTime=now: %v\n%s", jobs[1], err, out)
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitJobs(t, 5*time.Minute, s.Prepare, s.Array, s.Report)
	st, err := Status(sdir)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range st {
		want := "done"
		if i == victim {
			want = "interrupted"
		}
		if c.State != want {
			t.Errorf("after scancel: cell %d %s is %s (step %d, %s), want %s", i, c.Name, c.State, c.Step, c.Error, want)
		}
	}
	vlog, _ := os.ReadFile(filepath.Join(sdir, "slurm", fmt.Sprintf("%s_%d.out", s.Array, victim)))
	if !strings.Contains(string(vlog), "interrupted after step") {
		t.Errorf("the cancelled task did not checkpoint on SIGTERM; its log:\n%s", vlog)
	}
	rlog, _ := os.ReadFile(filepath.Join(sdir, "slurm", fmt.Sprintf("%s_%d.out", s.Array, requeued)))
	if !strings.Contains(string(rlog), "interrupted after step") || !strings.Contains(string(rlog), "resumes from step") {
		t.Errorf("the requeued task did not checkpoint and resume; its log:\n%s", rlog)
	}
	// the report job ran afterany the array, with the finished cells
	if md, _ := os.ReadFile(filepath.Join(sdir, "summary.md")); !strings.Contains(string(md), "3 of 4 cells finished") {
		t.Errorf("summary after the first array:\n%s", md)
	}
	status := entrolab(t, exe, work, "sweep", "status", sdir)
	if !strings.Contains(status, "3 done") || !strings.Contains(status, "1 interrupted") || !strings.Contains(status, "slurm: submitted") {
		t.Errorf("sweep status:\n%s", status)
	}

	// resubmit: only the interrupted cell, which resumes from its checkpoint
	entrolab(t, exe, work, "sweep", "-c", "slurm.yaml", "--executor", "slurm")
	s2 := lastSubmission(t, sdir)
	if s2.Prepare != "" || !reflect.DeepEqual(s2.Cells, []int{victim}) {
		t.Fatalf("resubmission %+v: want no base-policy job and only cell %d", s2, victim)
	}
	waitJobs(t, 5*time.Minute, s2.Array, s2.Report)
	vlog, _ = os.ReadFile(filepath.Join(sdir, "slurm", fmt.Sprintf("%s_%d.out", s2.Array, victim)))
	if !strings.Contains(string(vlog), "resumes from step") {
		t.Errorf("the resubmitted cell did not resume; its log:\n%s", vlog)
	}
	if status := entrolab(t, exe, work, "sweep", "status", sdir); !strings.Contains(status, "4 done") {
		t.Errorf("sweep status after the resubmission:\n%s", status)
	}

	// the same sweep with the local executor
	entrolab(t, exe, work, "sweep", "-c", "local.yaml")
	ldir := filepath.Join(work, "runs", "sweep-local")
	lm, err := ReadManifest(ldir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Cells {
		if lm.Cells[i].ID != m.Cells[i].ID {
			t.Errorf("cell %d: id %s locally, %s on Slurm", i, lm.Cells[i].ID, m.Cells[i].ID)
		}
		a := metricsWithoutTiming(t, filepath.Join(ldir, m.Cells[i].Name, "metrics.jsonl"))
		b := metricsWithoutTiming(t, filepath.Join(sdir, m.Cells[i].Name, "metrics.jsonl"))
		if len(a) != 61 || !reflect.DeepEqual(a, b) { // step 0 (the base's evaluation) and steps 1..60
			t.Errorf("cell %s: metrics differ between the local and the Slurm executor (%d and %d lines)", m.Cells[i].Name, len(a), len(b))
		}
	}
	for _, f := range []string{"summary.csv", "runs.csv"} {
		if a, b := csvWithoutTiming(t, filepath.Join(ldir, f)), csvWithoutTiming(t, filepath.Join(sdir, f)); !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs apart from steps_per_sec:\nlocal %v\nslurm %v", f, a, b)
		}
	}
	for _, fig := range []string{"entropy.png", "reward.png", "entropy_vs_reward.png"} {
		a, _ := os.ReadFile(filepath.Join(ldir, "plots", fig))
		b, _ := os.ReadFile(filepath.Join(sdir, "plots", fig))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("plots/%s differs between the executors (%d and %d bytes)", fig, len(a), len(b))
		}
	}
}

// BenchmarkSweepSlurmVsLocal times 2 methods × 2 seeds × 30 steps (the
// bundled sizes, on the committed base) with the local executor (parallel
// 2, one worker per cell) and through Slurm (max_parallel 2, one CPU per
// task): wall seconds of each and their ratio. Needs a Slurm cluster
// (scripts/slurm-local.sh up).
func BenchmarkSweepSlurmVsLocal(b *testing.B) {
	slurmOrSkip(b)
	work := b.TempDir()
	exe := buildEntrolab(b, work)
	par := min(2, runtime.NumCPU())
	file := func(out string) string {
		return fmt.Sprintf(`name: bench
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2]
set: ["train.steps=30", "base.checkpoint=%s"]
workers: 1
parallel: %d
out: %s
slurm: {max_parallel: %d, cpus_per_task: 1}
`, policytest.BaseDir(), par, out, par)
	}
	var local, slurm float64
	for i := 0; b.Loop(); i++ {
		lo, so := fmt.Sprintf("runs/local-%d", i), fmt.Sprintf("runs/slurm-%d", i)
		os.WriteFile(filepath.Join(work, "l.yaml"), []byte(file(lo)), 0o644)
		os.WriteFile(filepath.Join(work, "s.yaml"), []byte(file(so)), 0o644)
		t0 := time.Now()
		entrolab(b, exe, work, "sweep", "-c", "l.yaml")
		local += time.Since(t0).Seconds()
		t0 = time.Now()
		entrolab(b, exe, work, "sweep", "-c", "s.yaml", "--executor", "slurm")
		s := lastSubmission(b, filepath.Join(work, so))
		waitJobs(b, 10*time.Minute, s.Array, s.Report)
		slurm += time.Since(t0).Seconds()
	}
	b.ReportMetric(local/float64(b.N), "local_s")
	b.ReportMetric(slurm/float64(b.N), "slurm_s")
	b.ReportMetric(slurm/local, "slurm/local")
}
