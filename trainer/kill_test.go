package trainer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/entrolab/entrolab/policy"
)

// killChildEnv makes the test binary a training child (see TestMain).
const killChildEnv = "ENTROLAB_TEST_KILL_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		os.Exit(killChild(dir))
	}
	os.Exit(m.Run())
}

func killConfig() Config {
	c := testConfig(nil)
	c.Train.Steps = 12
	c.Ckpt.Every = 2
	c.Log.SampleEvery = 1
	return c
}

// killChild trains the kill-test run in dir, resuming it when it exists.
func killChild(dir string) int {
	c := killConfig()
	r, err := Open(c, dir, IsRunDir(dir), false, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	r.Trainer.Observe(Checkpointer{Run: r})
	if err := r.Trainer.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 4
	}
	return 0
}

// TestKill9AtRandomPoints: a run killed with SIGKILL at random moments
// (mid-step, mid-checkpoint, mid-append) and resumed each time ends with
// exactly the metrics, samples and weights of a run never killed.
func TestKill9AtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns training processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	straight := filepath.Join(t.TempDir(), "straight")
	runSteps(t, killConfig(), straight, false)

	dir := filepath.Join(t.TempDir(), "killed")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	kills := 0
	for try := 0; try < 40; try++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		delay := time.Duration(20+r.IntN(300)) * time.Millisecond
		if kills >= 8 {
			delay = time.Hour // enough kills: let it finish
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child failed without being killed: %v %s", err, stderr.String())
			}
			try = 1 << 30
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	t.Logf("%d kills at random points", kills)
	a, b := stableMetrics(t, straight), stableMetrics(t, dir)
	if !slices.Equal(a, b) {
		t.Fatalf("metrics differ after %d kills:\nstraight %v\nkilled   %v", kills, a, b)
	}
	sa, _ := os.ReadFile(filepath.Join(straight, "samples.jsonl"))
	sb, _ := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	if string(sa) != string(sb) {
		t.Fatal("samples.jsonl differs after the kills")
	}
	ca, err := policy.LoadCheckpoint(filepath.Join(straight, "checkpoints", "step_000012"))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := policy.LoadCheckpoint(filepath.Join(dir, "checkpoints", "step_000012"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ca.Weights.List {
		if !slices.Equal(p.Data, cb.Weights.List[i].Data) {
			t.Fatalf("weights %s differ after the kills", p.Name)
		}
	}
}
