package trainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunLock: a second writer fails at once naming the holder's PID; a
// lock file left by a killed process does not block.
func TestRunLock(t *testing.T) {
	dir := t.TempDir()
	l, err := LockRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockRun(dir)
	if !errors.Is(err, ErrRunLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := LockRun(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l2.Unlock()

	// a process that takes the lock and is killed with SIGKILL
	dead := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunLockHolder$")
	cmd.Env = append(os.Environ(), "ENTROLAB_TEST_LOCK_DIR="+dead)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for i := 0; ; i++ {
		b, _ := os.ReadFile(filepath.Join(dead, LockFile))
		if strings.TrimSpace(string(b)) == fmt.Sprint(cmd.Process.Pid) {
			break
		}
		if i == 500 {
			t.Fatal("the holder never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := LockRun(dead); !errors.Is(err, ErrRunLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", cmd.Process.Pid)) {
		t.Fatalf("held by a live process: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l3, err := LockRun(dead)
	if err != nil {
		t.Fatalf("a killed holder's lock blocks: %v", err)
	}
	l3.Unlock()
}

// TestRunLockHolder is TestRunLock's child: it holds a lock until killed.
func TestRunLockHolder(t *testing.T) {
	dir := os.Getenv("ENTROLAB_TEST_LOCK_DIR")
	if dir == "" {
		t.Skip("run by TestRunLock")
	}
	if _, err := LockRun(dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
}
