package sweep

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunCellSIGTERM sends the CLI's run-cell what scancel and preemption
// send: it must save a checkpoint of its last finished step and exit 130,
// and running it again must resume and finish the cell.
func TestRunCellSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and trains")
	}
	work := chdirTemp(t)
	exe := buildEntrolab(t, work)
	os.WriteFile("s.yaml", []byte("name: term\nexperiments: [grpo_addition]\nworkers: 1\nset: "+tinySets("60")+"\n"), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := WriteManifest(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	cell := m.Cells[0]
	metrics := filepath.Join(c.Out, cell.Name, "metrics.jsonl")
	cmd := exec.Command(exe, "sweep", "run-cell", c.Out, "0", "--id", cell.ID)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); lastStep(metrics) < 3; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no steps after 2 minutes:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("run-cell after SIGTERM: %v, want exit status 130\n%s", err, out.String())
	}
	st, _ := Status(c.Out)
	saved := strings.TrimSpace(mustRead(t, filepath.Join(c.Out, cell.Name, "checkpoints", "latest")))
	if st[0].State != "interrupted" || saved != "step_"+pad6(st[0].Step) || st[0].Step >= 60 {
		t.Fatalf("after SIGTERM: status %+v, latest checkpoint %s: want interrupted with the last step saved", st[0], saved)
	}
	again, err := exec.Command(exe, "sweep", "run-cell", c.Out, "0").CombinedOutput()
	if err != nil || !strings.Contains(string(again), "resumes from step") {
		t.Fatalf("second run-cell: %v\n%s", err, again)
	}
	if st, _ := Status(c.Out); st[0].State != "done" {
		t.Errorf("after the second run: %+v", st[0])
	}
}

func pad6(n int) string { return fmt.Sprintf("%06d", n) }
