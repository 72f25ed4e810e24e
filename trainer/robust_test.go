package trainer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrolab/entrolab/experiment"
	"github.com/entrolab/entrolab/policy"
)

// Issue 12: --force deletes only a directory entrolab made; a folder of
// the user's, or one holding the working directory, is refused by path.
func TestForceDeletesOnlyRunDirs(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 1
	root := t.TempDir()
	user := filepath.Join(root, "a")
	os.MkdirAll(filepath.Join(user, "sub"), 0o755)
	os.WriteFile(filepath.Join(user, "f"), []byte("precious"), 0o644)
	if _, err := Open(c, user, false, true, nil); err == nil || !strings.Contains(err.Error(), user) || !errors.Is(err, ErrNotRunDir) {
		t.Fatalf("--force on a user folder: %v", err)
	}
	// cd a/sub; --out .. --force
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(filepath.Join(user, "sub"))
	if _, err := Open(c, "..", false, true, nil); err == nil {
		t.Fatal("--out .. --force accepted")
	}
	os.Chdir(wd)
	if b, err := os.ReadFile(filepath.Join(user, "f")); err != nil || string(b) != "precious" {
		t.Fatalf("user file damaged: %q %v", b, err)
	}
	// a real run directory may be replaced with --force ...
	run := filepath.Join(root, "run")
	runSteps(t, c, run, false)
	if !IsRunDir(run) {
		t.Fatal("run directory has no marker")
	}
	if _, err := Open(c, run, false, true, nil); err != nil {
		t.Fatalf("--force on a run directory: %v", err)
	}
	// ... but not while the working directory is inside it
	os.Chdir(filepath.Join(run, "checkpoints"))
	err := CheckRemovable(run)
	os.Chdir(wd)
	if err == nil || !strings.Contains(err.Error(), "working directory") {
		t.Fatalf("removing the run holding the working directory: %v", err)
	}
	// a symbolic link to a run directory is not followed for deletion
	link := filepath.Join(root, "link")
	os.Symlink(run, link)
	if err := CheckRemovable(link); err == nil {
		t.Fatal("deleting through a link allowed")
	}
}

// Issue 12: a run killed before its first checkpoint restarts without
// --force, and --resume on it starts it again (announced).
func TestKilledBeforeFirstCheckpointRestarts(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 1
	dir := filepath.Join(t.TempDir(), "run")
	os.MkdirAll(filepath.Join(dir, "checkpoints", ".step_000001.tmp-123"), 0o755)
	WriteMarker(dir)
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(`{"step":1,"data":{}}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("seed: 1\n"), 0o644)
	r, err := Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatalf("restart without --force: %v", err)
	}
	if len(r.Notes) == 0 {
		t.Fatal("restart not announced")
	}
	if _, err := os.Stat(filepath.Join(dir, "metrics.jsonl")); err == nil {
		t.Fatal("old metrics kept")
	}
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(`{"step":1,"data":{}}`+"\n"), 0o644)
	r, err = Open(c, dir, true, false, nil)
	if err != nil || len(r.Notes) == 0 || r.Trainer.Step != 0 {
		t.Fatalf("--resume without a checkpoint: %v, notes %v, step %d", err, r.Notes, r.Trainer.Step)
	}
}

// Issue 12: names become directories: no separators, no "..".
func TestNameValidated(t *testing.T) {
	for _, n := range []string{"../../escape", "a/b", "..", ".hidden", "", strings.Repeat("x", 200), "a\x00b"} {
		c := DefaultConfig()
		c.Name = n
		if err := c.Validate(); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	for _, n := range []string{"grpo_addition", "clip-cov.v2", "a+b=c"} {
		if err := experiment.ValidateName("name", n); err != nil {
			t.Errorf("name %q refused: %v", n, err)
		}
	}
}

// Issue 12: every size has an upper limit, checked before anything is
// allocated, naming the key.
func TestSizeLimits(t *testing.T) {
	for _, tc := range []struct {
		key string
		set func(*Config)
	}{
		{"sampling.group_size", func(c *Config) { c.Sampling.N = 1_000_000_000 }},
		{"sampling.group_size", func(c *Config) { c.Sampling.N = 100_000 }},
		{"train.prompts_per_step", func(c *Config) { c.Train.PromptsPerStep = 1_000_000_000 }},
		{"eval.problems", func(c *Config) { c.Eval.Problems = 1_000_000_000 }},
		{"eval.k", func(c *Config) { c.Eval.K = 10_000_000 }},
		{"eval.final_k", func(c *Config) { c.Eval.FinalK = 10_000_000 }},
		{"eval.problems × eval.final_k", func(c *Config) { c.Eval.Problems, c.Eval.FinalK = 100_000, 1000 }},
		{"train.ppo_epochs", func(c *Config) { c.Train.PPOEpochs = 1_000_000 }},
		{"train.steps", func(c *Config) { c.Train.Steps = 1 << 40 }},
		{"sequences per step", func(c *Config) { c.Train.PromptsPerStep, c.Sampling.N = 4096, 1024 }},
	} {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
	// the memory estimate names the part and the keys
	c := DefaultConfig()
	c.Train.PromptsPerStep, c.Sampling.N, c.Train.MiniBatches = 4096, 16, 4
	total, parts := MemoryEstimate(c, policy.Config{Vocab: 50257, DModel: 768, NLayers: 12, NHeads: 12, MaxSeqLen: 1024, InitStd: 0.02})
	if total < 1<<40 || len(parts) == 0 {
		t.Fatalf("estimate %g", total)
	}
	if avail := availableMemory(); avail > 0 && avail < total {
		err := checkMemory(c, policy.Config{Vocab: 50257, DModel: 768, NLayers: 12, NHeads: 12, MaxSeqLen: 1024, InitStd: 0.02})
		if err == nil || !strings.Contains(err.Error(), "GiB") || !strings.Contains(err.Error(), "train.") {
			t.Fatalf("memory check: %v", err)
		}
	}
}

// tamper rewrites one file of a checkpoint and its manifest entry (so only
// the content, not the checksum, is wrong).
func tamper(t *testing.T, ck, name string, edit func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(ck, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = edit(b)
	os.WriteFile(p, b, 0o644)
	mp := filepath.Join(ck, "manifest.json")
	mb, _ := os.ReadFile(mp)
	var man map[string]any
	json.Unmarshal(mb, &man)
	s := sha256.Sum256(b)
	man["sha256"].(map[string]any)[name] = hex.EncodeToString(s[:])
	mb, _ = json.Marshal(man)
	os.WriteFile(mp, mb, 0o644)
}

func setStep(step string) func([]byte) []byte {
	return func(b []byte) []byte {
		var m map[string]any
		json.Unmarshal(b, &m)
		m["step"] = json.Number(step)
		out, _ := json.Marshal(m)
		return out
	}
}

// Issue 12: resume trusts nothing: a state.json whose step is negative,
// huge or disagrees with its directory is refused, the fallback to the
// older checkpoint is announced, stale temporary directories are removed,
// and metrics.jsonl ends as exactly steps 1..N (the rest moved aside).
func TestResumeTrustsNothing(t *testing.T) {
	for _, step := range []string{"-5", "1000000000000000", "3"} {
		t.Run(step, func(t *testing.T) {
			c := testConfig(t)
			c.Train.Steps = 4
			dir := filepath.Join(t.TempDir(), "run")
			runSteps(t, c, dir, false)
			tamper(t, filepath.Join(dir, "checkpoints", "step_000004"), "state.json", setStep(step))
			stale := filepath.Join(dir, "checkpoints", ".step_000006.tmp-999")
			os.MkdirAll(stale, 0o755)
			c.Train.Steps = 5
			r, err := Open(c, dir, true, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Trainer.Step != 2 {
				t.Fatalf("resumed at step %d, want the older checkpoint's 2", r.Trainer.Step)
			}
			notes := strings.Join(r.Notes, "\n")
			if !strings.Contains(notes, "falling back") || !strings.Contains(notes, "step_000002") || !strings.Contains(notes, "removed") {
				t.Fatalf("notes: %s", notes)
			}
			if _, err := os.Stat(stale); err == nil {
				t.Fatal("stale temporary directory kept")
			}
			b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
			if got := ContiguousSteps(b); got != 2 || strings.Count(string(b), "\n") != 2 {
				t.Fatalf("metrics after resume:\n%s", b)
			}
			rej, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl.rejected"))
			if strings.Count(string(rej), "\n") != 2 {
				t.Fatalf("rejected lines:\n%s", rej)
			}
		})
	}
}

// Issue 12: metrics.jsonl is repaired to exactly steps 1..N in order.
func TestRepairMetrics(t *testing.T) {
	in := strings.Join([]string{
		`{"step":1,"data":{"a":1}}`,
		`{"data":{"a":2}}`,           // no step
		`{"step":1,"data":{"a":3}}`,  // duplicate
		`{"step":-1,"data":{"a":4}}`, // negative
		`{"step":3,"data":{"a":5}}`,  // out of order
		`{"step":2,"data":{"a":6}}`,
		`{"step":2.5,"data":{}}`, // not an integer
		`{"step":3}`,             // no data
		`[1,2]`,
		`{"step":3,"data":{"a":null}}`,
		`{"step":4,"data":{"a":7}}`, // beyond N
		`{"step":5,"da`,             // torn
	}, "\n")
	kept, rej := RepairMetrics([]byte(in), 3)
	want := `{"step":1,"data":{"a":1}}` + "\n" + `{"step":2,"data":{"a":6}}` + "\n" + `{"step":3,"data":{"a":null}}` + "\n"
	if string(kept) != want {
		t.Fatalf("kept:\n%s", kept)
	}
	if n := strings.Count(string(rej), "\n"); n != 9 {
		t.Fatalf("%d rejected:\n%s", n, rej)
	}
}

// Issue 12: a read-only metrics.jsonl is not silently replaced; links in a
// run directory are not followed for writing.
func TestResumeRefusesReadOnlyAndLinks(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 2
	dir := filepath.Join(t.TempDir(), "run")
	runSteps(t, c, dir, false)
	m := filepath.Join(dir, "metrics.jsonl")
	os.Chmod(m, 0o444)
	if _, err := Open(c, dir, true, false, nil); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("read-only metrics: %v", err)
	}
	os.Chmod(m, 0o644)
	os.Rename(m, m+".real")
	os.Symlink(filepath.Join(t.TempDir(), "nowhere", "metrics.jsonl"), m) // dangling
	if _, err := Open(c, dir, true, false, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("dangling metrics link: %v", err)
	}
	os.Remove(m)
	os.Rename(m+".real", m)
	os.Symlink(t.TempDir(), filepath.Join(dir, "plots"))
	if err := CheckNoLinks(dir, "plots"); err == nil {
		t.Fatal("symlinked plots/ accepted")
	}
}

// cancelAt cancels the context once the trainer has finished step n, from
// inside the next step's update (a timer), and records the weights after n.
type cancelAt struct {
	n      int
	cancel context.CancelFunc
	after  time.Duration
	w      [][]float32
	at     time.Time
}

func (c *cancelAt) OnStep(t *Trainer, r Record) error {
	if r.Step == c.n {
		for _, p := range t.Model.W.List {
			c.w = append(c.w, slices.Clone(p.Data))
		}
		time.AfterFunc(c.after, func() { c.at = time.Now(); c.cancel() })
	}
	return nil
}

// Issue 12: a signal inside the PPO epochs stops the run within 2 s, and
// the state left is exactly the last finished step's: resuming from it
// gives the same numbers as a run never interrupted.
func TestSignalInsideEpochs(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 2
	c.Train.PPOEpochs = 16
	c.Ckpt.Every = 100
	straight := filepath.Join(t.TempDir(), "straight")
	runSteps(t, c, straight, false)

	dir := filepath.Join(t.TempDir(), "run")
	r, err := Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ca := &cancelAt{n: 1, cancel: cancel, after: 30 * time.Millisecond}
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	r.Trainer.Observe(ca)
	err = r.Trainer.Run(ctx)
	stop := time.Since(ca.at)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if stop > 2*time.Second {
		t.Fatalf("stopped %v after the signal, want <= 2s", stop)
	}
	if r.Trainer.Step != 1 {
		t.Fatalf("step %d after the interrupt, want 1", r.Trainer.Step)
	}
	for i, p := range r.Trainer.Model.W.List {
		if !slices.Equal(p.Data, ca.w[i]) {
			t.Fatalf("weights %s are not those of the last finished step", p.Name)
		}
	}
	if err := r.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	runSteps(t, c, dir, true)
	a, b := stableMetrics(t, straight), stableMetrics(t, dir)
	if !slices.Equal(a, b) {
		t.Fatalf("interrupted + resumed differs from straight:\n%v\n%v", a, b)
	}
	t.Logf("stopped %v after the signal", stop)
}

// Issue 12: a signal while train pre-trains its base policy stops within
// 2 s (it used to be ignored until SFT finished) and leaves no half-made
// base in the cache.
func TestSignalDuringBasePretraining(t *testing.T) {
	c := testConfig(t)
	c.Base.Checkpoint = ""
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	var at time.Time
	time.AfterFunc(300*time.Millisecond, func() { at = time.Now(); cancel() })
	_, path, err := LoadBaseContext(ctx, c, nil)
	stop := time.Since(at)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadBaseContext: %v", err)
	}
	if stop > 2*time.Second {
		t.Fatalf("stopped %v after the signal", stop)
	}
	if _, err := os.Stat(filepath.Join(path, "manifest.json")); err == nil {
		t.Fatal("an interrupted base was left in the cache")
	}
	t.Logf("stopped %v after the signal", stop)
}

// Issue 12: a signal inside the held-out evaluation stops within 2 s; the
// step it was part of is undone.
func TestSignalInsideEvaluation(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps, c.Eval.Every, c.Eval.Problems, c.Eval.K = 1, 1, 8192, 8
	r, err := Open(c, filepath.Join(t.TempDir(), "run"), false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	w0 := r.Trainer.Model.W.Clone()
	ctx, cancel := context.WithCancel(context.Background())
	var at time.Time
	time.AfterFunc(400*time.Millisecond, func() { at = time.Now(); cancel() })
	err = r.Trainer.Run(ctx)
	stop := time.Since(at)
	if !errors.Is(err, context.Canceled) || r.Trainer.Step != 0 {
		t.Fatalf("Run: %v at step %d", err, r.Trainer.Step)
	}
	if stop > 2*time.Second {
		t.Fatalf("stopped %v after the signal", stop)
	}
	for i, p := range r.Trainer.Model.W.List {
		if !slices.Equal(p.Data, w0.List[i].Data) {
			t.Fatalf("weights %s changed by the undone step", p.Name)
		}
	}
	t.Logf("stopped %v after the signal", stop)
}

// Issue 12: a damaged random stream in the newest checkpoint's state.json
// (valid checksum) names the file and key, and resume falls back.
func TestResumeBadRandomStream(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps = 4
	dir := filepath.Join(t.TempDir(), "run")
	runSteps(t, c, dir, false)
	tamper(t, filepath.Join(dir, "checkpoints", "step_000004"), "state.json", func(b []byte) []byte {
		var m map[string]any
		json.Unmarshal(b, &m)
		m["rng"].(map[string]any)["data"] = "AAAA"
		out, _ := json.Marshal(m)
		return out
	})
	r, err := Open(c, dir, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(r.Notes, "\n"); r.Trainer.Step != 2 || !strings.Contains(notes, "state.json: rng.data") {
		t.Fatalf("step %d, notes: %s", r.Trainer.Step, notes)
	}
}

// Issue 12: a signal inside the sampling of a large group stops within 2 s
// (the engine asks before every decoding position); the step is undone.
func TestSignalInsideSampling(t *testing.T) {
	c := testConfig(t)
	c.Train.Steps, c.Train.PromptsPerStep, c.Sampling.N, c.Sampling.MaxNewTokens = 1, 16, 32, 36
	c.Train.MiniBatches, c.Train.MicroBatch, c.Log.Diagnostics = 32, 16, false
	r, err := Open(c, filepath.Join(t.TempDir(), "run"), false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var at time.Time
	time.AfterFunc(100*time.Millisecond, func() { at = time.Now(); cancel() })
	t0 := time.Now()
	err = r.Trainer.Run(ctx)
	stop := time.Since(at)
	if !errors.Is(err, context.Canceled) || r.Trainer.Step != 0 {
		t.Fatalf("Run: %v at step %d", err, r.Trainer.Step)
	}
	if stop > 2*time.Second {
		t.Fatalf("stopped %v after the signal", stop)
	}
	t.Logf("stopped %v after the signal (%v in all)", stop, time.Since(t0))
}
