package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/serve"
)

// chdirTemp moves the test into a fresh directory (sweeps and the base
// cache are relative to it) and back at the end.
func chdirTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	return dir
}

// tinySets make a cell train in about a second on the committed base.
func tinySets(steps string) string {
	return `["train.steps=` + steps + `", "train.prompts_per_step=4", "sampling.group_size=4", "eval.problems=8", "eval.k=2", "eval.every=0", "log.sample_every=0", "base.checkpoint=` + policytest.BaseDir() + `"]`
}

func TestSweepRunsResumesAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte(`name: tiny
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2]
set: ["train.steps=2", "eval.problems=8", "eval.every=0", "base.sft.max_steps=40", "base.sft.eval_every=40"]
parallel: 2
`), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cells, _ := c.Cells()
	if len(cells) != 4 {
		t.Fatalf("%d cells, want 4", len(cells))
	}
	var log bytes.Buffer
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "making base policy") {
		t.Errorf("the base policy was not made before the cells:\n%s", log.String())
	}
	for _, f := range []string{"manifest.json", "summary.md", "summary.csv", "runs.csv", "report.html", "plots/entropy.png", "grpo_addition-s2/metrics.jsonl", "cells/" + cells[0].ID + ".yaml"} {
		if _, err := os.Stat(filepath.Join(c.Out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(c.Out, "summary.md"))
	if !strings.Contains(string(md), "clip_cov_addition seed=2") {
		t.Errorf("summary lacks a run:\n%s", md)
	}
	// the comparison: clip_cov against the default baseline grpo, in
	// numbers with intervals and in words
	for _, want := range []string{"Differences are against **grpo_addition (2 seeds)**", "### final entropy (nats/token)", "(paired)", "### In words"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(c.Out, "summary.csv"))
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "final_entropy_diff_ci_low") || !strings.HasPrefix(lines[2], "clip_cov_addition (2 seeds),2,1 2,grpo_addition (2 seeds),") {
		t.Errorf("summary.csv is not one row per series with the comparison columns:\n%s", sum)
	}
	// report.html: the findings in words, and each run's commit, start
	// date (from the provenance.jsonl the cell wrote) and resolved config
	html := mustRead(t, filepath.Join(c.Out, "report.html"))
	prov := mustRead(t, filepath.Join(c.Out, "grpo_addition-s1", "provenance.jsonl"))
	for _, want := range []string{`<h2 id="findings">Findings</h2>`, "<summary>resolved config.yaml</summary>", "grpo_addition seed=1", "from_step\":0"} {
		if !strings.Contains(html+prov, want) {
			t.Errorf("report.html (or the run's provenance.jsonl) lacks %q", want)
		}
	}
	// again: every cell is finished, so all are skipped
	log.Reset()
	if err := Execute(context.Background(), c, &log); err != nil {
		t.Fatal(err)
	}
	if strings.Count(log.String(), "skipped") != 4 {
		t.Errorf("second execution did not skip the finished cells:\n%s", log.String())
	}
	// other settings over the same sweep directory: refused, naming the key
	c2, err := Load("s.yaml", []string{"train.steps=3"})
	if err != nil {
		t.Fatal(err)
	}
	err = Execute(context.Background(), c2, &log)
	if err == nil || !strings.Contains(err.Error(), "train.steps: stored 2, requested 3") {
		t.Errorf("a changed sweep over finished cells: %v, want a refusal naming train.steps", err)
	}
	// one more seed is a new cell beside the finished ones
	os.WriteFile("s3.yaml", []byte(strings.Replace(mustRead(t, "s.yaml"), "seeds: [1, 2]", "seeds: [1, 2, 3]\nout: "+c.Out, 1)), 0o644)
	c3, err := Load("s3.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if err := Execute(context.Background(), c3, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if strings.Count(log.String(), "skipped") != 4 || strings.Count(log.String(), "starts from step 0") != 2 {
		t.Errorf("adding a seed: want 4 skipped and 2 new cells:\n%s", log.String())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCellsLabelledByValues(t *testing.T) {
	chdirTemp(t)
	for _, tc := range []struct {
		name, overrides string
		want            []string
	}{
		{"lr", `[["optim.lr=1e-4"], ["optim.lr=3e-4"]]`, []string{"grpo_addition optim.lr=0.0001", "grpo_addition optim.lr=0.0003"}},
		// an entry without the key keeps the experiment's value, and says which
		{"default", `[[], ["optim.lr=3e-4"]]`, []string{"grpo_addition optim.lr=0.0001", "grpo_addition optim.lr=0.0003"}},
		// a key equal in every entry does not label
		{"shared", `[["optim.lr=1e-4", "train.steps=5"], ["optim.lr=2e-4", "train.steps=5"]]`, []string{"grpo_addition optim.lr=0.0001", "grpo_addition optim.lr=0.0002"}},
		{"none", `[]`, []string{"grpo_addition"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile("s.yaml", []byte("name: lab\nexperiments: [grpo_addition]\nseeds: [1, 2]\noverrides: "+tc.overrides+"\n"), 0o644)
			c, err := Load("s.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			cells, err := c.Cells()
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			ids := map[string]bool{}
			for i, cell := range cells {
				if i%2 == 0 {
					labels = append(labels, cell.Label)
				} else if cell.Label != cells[i-1].Label {
					t.Errorf("seeds of one variant have labels %q and %q", cells[i-1].Label, cell.Label)
				}
				if strings.Contains(cell.Name, "-v1") || strings.Contains(cell.Label, "-v") {
					t.Errorf("cell %q (%q) is named by position", cell.Name, cell.Label)
				}
				if !safeName.MatchString(cell.Name) {
					t.Errorf("cell name %q is not a safe directory name", cell.Name)
				}
				ids[cell.ID] = true
			}
			if !reflect.DeepEqual(labels, tc.want) {
				t.Errorf("labels = %q, want %q", labels, tc.want)
			}
			if len(ids) != len(cells) {
				t.Errorf("%d distinct ids for %d cells", len(ids), len(cells))
			}
			// stable: the same sweep gives the same ids
			again, _ := c.Cells()
			for i := range cells {
				if again[i].ID != cells[i].ID {
					t.Errorf("cell %d id %s then %s", i, cells[i].ID, again[i].ID)
				}
			}
		})
	}
	os.WriteFile("s.yaml", []byte("name: lab\nexperiments: [grpo_addition]\noverrides: [[\"optim.lr=1e-4\"], [\"optim.lr=0.0001\"]]\n"), 0o644)
	if _, err := Load("s.yaml", nil); err == nil || !strings.Contains(err.Error(), "same config") {
		t.Errorf("two overrides giving one config: %v, want an error", err)
	}
}

func TestWriteManifestRefusesForeignDirectory(t *testing.T) {
	chdirTemp(t)
	os.MkdirAll("runs/sweep-x", 0o755)
	os.WriteFile("runs/sweep-x/thesis.tex", []byte("mine"), 0o644)
	os.WriteFile("s.yaml", []byte("name: x\nexperiments: [grpo_addition]\n"), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteManifest(c, 1); err == nil || !strings.Contains(err.Error(), "not a sweep directory") {
		t.Errorf("WriteManifest into a user's folder: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile("runs/sweep-x/thesis.tex"); string(b) != "mine" {
		t.Errorf("the user's file changed")
	}
}

func TestRunCellRefusesChangedConfigAndForeignFiles(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte("name: x\nexperiments: [grpo_addition]\nset: "+tinySets("2")+"\n"), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := WriteManifest(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	cell := m.Cells[0]
	runDir := filepath.Join(c.Out, cell.Name)
	// a run of other settings in the cell's directory
	other := strings.Replace(mustRead(t, filepath.Join(c.Out, CellsDir, cell.ID+".yaml")), "lr: 0.0001", "lr: 0.0003", 1)
	os.MkdirAll(runDir, 0o755)
	os.WriteFile(filepath.Join(runDir, "config.yaml"), []byte(other), 0o644)
	_, err = RunCell(context.Background(), c.Out, 0, CellOptions{})
	if err == nil || !strings.Contains(err.Error(), "optim.lr: stored 0.0003, requested 0.0001") {
		t.Errorf("RunCell over another config: %v, want a refusal naming optim.lr", err)
	}
	// a stale --id: the manifest changed since the job was submitted
	if _, err := RunCell(context.Background(), c.Out, 0, CellOptions{ID: "0123456789ab"}); err == nil || !strings.Contains(err.Error(), "manifest changed") {
		t.Errorf("RunCell with a stale id: %v", err)
	}
	if _, err := RunCell(context.Background(), c.Out, 5, CellOptions{}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("RunCell 5 of 1: %v", err)
	}
	// files a cell never writes are not cleared
	os.Remove(filepath.Join(runDir, "config.yaml"))
	os.WriteFile(filepath.Join(runDir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := RunCell(context.Background(), c.Out, 0, CellOptions{}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("RunCell over a user's file: %v, want a refusal naming it", err)
	}
	// an edited cells/<id>.yaml is refused
	os.Remove(filepath.Join(runDir, "notes.txt"))
	os.WriteFile(filepath.Join(c.Out, CellsDir, cell.ID+".yaml"), []byte(other), 0o644)
	if _, err := RunCell(context.Background(), c.Out, 0, CellOptions{}); err == nil || !strings.Contains(err.Error(), "edited") {
		t.Errorf("RunCell with an edited cell config: %v", err)
	}
}

// metricsWithoutTiming reads a metrics file without the timing keys.
func metricsWithoutTiming(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct {
			Step int            `json:"step"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		for k := range l.Data {
			if strings.HasPrefix(k, "timing_s/") || strings.HasPrefix(k, "perf/") {
				delete(l.Data, k)
			}
		}
		l.Data["step"] = l.Step
		out = append(out, l.Data)
	}
	return out
}

func TestRunCellInterruptedResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	chdirTemp(t)
	for _, name := range []string{"a", "b"} {
		os.WriteFile(name+".yaml", []byte("name: "+name+"\nexperiments: [grpo_addition]\nset: "+tinySets("6")+"\n"), 0o644)
	}
	ca, _ := Load("a.yaml", nil)
	cb, err := Load("b.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// a: straight through
	if _, err := WriteManifest(ca, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := RunCell(context.Background(), ca.Out, 0, CellOptions{}); err != nil {
		t.Fatal(err)
	}
	// b: interrupted after a few steps, then run again
	m, err := WriteManifest(cb, 1)
	if err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(cb.Out, m.Cells[0].Name, "metrics.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil && lastStep(metrics) < 2 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err = RunCell(ctx, cb.Out, 0, CellOptions{})
	cancel()
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted RunCell = %v, want ErrInterrupted", err)
	}
	st, _ := Status(cb.Out)
	if st[0].State != "interrupted" || st[0].Step < 2 || st[0].Step >= 6 {
		t.Fatalf("status after the interrupt: %+v, want interrupted at a step in [2, 6)", st[0])
	}
	runDir := filepath.Join(cb.Out, m.Cells[0].Name)
	if s := runStatus(t, runDir); s != serve.StateInterrupted { // the live view reads a sweep's runs as it reads train's
		t.Errorf("%s says %q after the interrupt, want %q", serve.StatusFile, s, serve.StateInterrupted)
	}
	var log bytes.Buffer
	if _, err := RunCell(context.Background(), cb.Out, 0, CellOptions{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resumes from step") {
		t.Errorf("second run did not resume:\n%s", log.String())
	}
	want := metricsWithoutTiming(t, filepath.Join(ca.Out, m.Cells[0].Name, "metrics.jsonl"))
	got := metricsWithoutTiming(t, metrics)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("interrupted and resumed metrics differ from a straight run:\n got %v\nwant %v", got, want)
	}
	if skipped, err := RunCell(context.Background(), cb.Out, 0, CellOptions{}); !skipped || err != nil {
		t.Errorf("a finished cell: skipped=%v err=%v, want skipped", skipped, err)
	}
	st, _ = Status(cb.Out)
	if st[0].State != "done" || st[0].Step != 6 {
		t.Errorf("status at the end: %+v", st[0])
	}
	if s := runStatus(t, runDir); s != serve.StateDone {
		t.Errorf("%s says %q at the end, want %q", serve.StatusFile, s, serve.StateDone)
	}
	// a cell finished before cells kept status.json gets one when skipped
	os.Remove(filepath.Join(runDir, serve.StatusFile))
	if skipped, err := RunCell(context.Background(), cb.Out, 0, CellOptions{}); !skipped || err != nil {
		t.Fatalf("a finished cell: skipped=%v err=%v", skipped, err)
	}
	if s := runStatus(t, runDir); s != serve.StateDone {
		t.Errorf("%s says %q for a skipped finished cell, want %q", serve.StatusFile, s, serve.StateDone)
	}
}

// runStatus is the state a run directory's status.json records.
func runStatus(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, serve.StatusFile))
	if err != nil {
		t.Fatal(err)
	}
	var st serve.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", serve.StatusFile, err)
	}
	return st.State
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\nexperiments: []\n", "experiments is empty"},
		{"name: x\nexperiments: [nope]\n", "nope"},
		{"name: x\nexperiments: [grpo_addition]\nseedz: [1]\n", "seedz"},
		{"name: x\nexperiments: [grpo_addition]\nset: [\"train.steps=0\"]\n", "train.steps"},
		{"name: ../x\nexperiments: [grpo_addition]\n", "name"},
		{"name: x\nexperiments: [grpo_addition]\nworkers: -1\n", "workers"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {time: soon}\n", "slurm.time"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {mem: lots}\n", "slurm.mem"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {partition: \"a b\"}\n", "slurm.partition"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {extra: [\"--array=0-9\"]}\n", "--array"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {extra: [\"qos=x\"]}\n", "slurm.extra[0]"},
		{"name: x\nexperiments: [grpo_addition]\nslurm: {qos: x}\n", "slurm.qos"},
		{"name: x\nexperiments: [grpo_addition]\nk8s: {claim: Big_Claim}\n", "k8s.claim"},
		{"name: x\nexperiments: [grpo_addition]\noverrides: [[\"optim.lrr=1\"]]\n", "optim.lrr"},
		{"name: x\nexperiments: [grpo_addition]\nset: [\"seed=3\"]\n", "sets seed itself"},
		{"name: x\nexperiments: [grpo_addition]\noverrides: [[\"out=elsewhere\"]]\n", "sets out itself"},
	} {
		p := filepath.Join(dir, "s.yaml")
		os.WriteFile(p, []byte(tc.yaml), 0o644)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want an error naming %q", tc.yaml, err, tc.want)
		}
	}
	exp := filepath.Join(dir, "exp.yaml")
	os.WriteFile(exp, []byte("name: mine\nout: runs/mine\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("name: x\nexperiments: ["+exp+"]\n"), 0o644)
	if _, err := Load(filepath.Join(dir, "s.yaml"), nil); err == nil || !strings.Contains(err.Error(), "sets out") {
		t.Errorf("an experiment with out: in a sweep: %v, want a refusal", err)
	}
	if _, err := Load("entropy_methods_addition", nil); err != nil {
		t.Errorf("bundled sweep: %v", err)
	}
}

// TestReportLabelsVariantsAndGathersFinished writes fake finished runs and
// checks that the report labels each variant by its values, bands only the
// seeds of one variant, and names the cells it leaves out.
func TestReportLabelsVariantsAndGathersFinished(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte("name: rep\nexperiments: [grpo_addition]\nseeds: [1, 2]\nset: [\"train.steps=3\"]\noverrides: [[\"optim.lr=1e-4\"], [\"optim.lr=3e-4\"]]\n"), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := WriteManifest(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, cell := range m.Cells[:3] { // the last cell has not run
		dir := filepath.Join(c.Out, cell.Name)
		os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755)
		os.WriteFile(filepath.Join(dir, "checkpoints", "latest"), []byte("step_000003\n"), 0o644)
		var b strings.Builder
		for s := 1; s <= 3; s++ {
			b.WriteString(`{"step": ` + string(rune('0'+s)) + `, "data": {"actor/entropy": 0.` + string(rune('4'+i)) + `, "critic/score/mean": 0.3}}` + "\n")
		}
		os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644)
	}
	var log bytes.Buffer
	if err := Report(c.Out, &log); err != nil {
		t.Fatal(err)
	}
	md := mustRead(t, filepath.Join(c.Out, "summary.md"))
	for _, want := range []string{
		"| grpo_addition optim.lr=0.0001 seed=1 | grpo_addition optim.lr=0.0001 |",
		"| grpo_addition optim.lr=0.0001 seed=2 | grpo_addition optim.lr=0.0001 |",
		"| grpo_addition optim.lr=0.0003 seed=1 | grpo_addition optim.lr=0.0003 |",
		"3 of 4 cells finished; not in this report: grpo_addition+optim.lr=0.0003-s2 (pending)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	html := mustRead(t, filepath.Join(c.Out, "report.html"))
	if strings.Contains(md+html+mustRead(t, filepath.Join(c.Out, "summary.csv")), "-v1") || !strings.Contains(html, "grpo_addition optim.lr=0.0003") {
		t.Errorf("the report names variants by position, or not by value")
	}
}

func TestRunCellLocked(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte("name: lk\nexperiments: [grpo_addition]\nset: "+tinySets("2")+"\n"), 0o644)
	c, _ := Load("s.yaml", nil)
	m, err := WriteManifest(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockCell(c.Out, m.Cells[0])
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := RunCell(context.Background(), c.Out, 0, CellOptions{}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("RunCell on a cell another process runs: %v", err)
	}
}

func TestStatusStates(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte("name: st\nexperiments: [grpo_addition]\nseeds: [1, 2, 3, 4, 5, 6]\nset: [\"train.steps=3\"]\n"), 0o644)
	c, _ := Load("s.yaml", nil)
	m, err := WriteManifest(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	put := func(i int, st CellState) {
		b, _ := json.Marshal(st)
		os.WriteFile(statePath(c.Out, m.Cells[i]), b, 0o644)
	}
	// 0: finished (its last checkpoint)
	os.MkdirAll(filepath.Join(c.Out, m.Cells[0].Name, "checkpoints"), 0o755)
	os.WriteFile(filepath.Join(c.Out, m.Cells[0].Name, "checkpoints", "latest"), []byte("step_000003\n"), 0o644)
	put(1, CellState{State: "running", Host: host, PID: os.Getpid()})    // 1: this very process runs it
	put(2, CellState{State: "running", Host: host, PID: 1 << 30})        // 2: its process is gone
	put(3, CellState{State: "failed", Error: "trainer: step 2: NaN"})    // 3: failed
	put(4, CellState{State: "interrupted", Step: 1, Host: host, PID: 1}) // 4: interrupted
	// 5: never started
	st, err := Status(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"done", "running", "interrupted", "failed", "interrupted", "pending"}
	for i, s := range st {
		if s.State != want[i] {
			t.Errorf("cell %d: %s, want %s", i, s.State, want[i])
		}
	}
	var b bytes.Buffer
	WriteStatus(&b, c.Out, st)
	if !strings.Contains(b.String(), "6 cells: 1 done, 1 running, 1 failed, 2 interrupted, 1 pending") || !strings.Contains(b.String(), "error: trainer: step 2: NaN") {
		t.Errorf("status table:\n%s", b.String())
	}
	// with squeue: a Slurm task that is no longer queued did not finish
	put(1, CellState{State: "running", Host: "node7", PID: 5, Job: "40_1"})
	put(2, CellState{State: "running", Host: "node7", PID: 5, Job: "40_2"})
	queue := map[int]queued{2: {"40_2", "RUNNING"}, 4: {"41_4", "PENDING"}}
	for i, w := range map[int]string{1: "interrupted", 2: "running", 4: "pending"} {
		if got := cellStatus(c.Out, m.Cells[i], queue).State; got != w {
			t.Errorf("with squeue, cell %d: %s, want %s", i, got, w)
		}
	}
}
