package trainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the file in a run directory that its writer holds an
// exclusive flock on, holding the writer's PID. The kernel drops the lock
// when the process ends, however it ends, so a killed run never blocks the
// next one.
const LockFile = "lock"

// ErrRunLocked is wrapped by LockRun's error when another process writes
// the run directory.
var ErrRunLocked = errors.New("trainer: run directory is in use")

// RunLock is a held run-directory lock.
type RunLock struct{ f *os.File }

// LockRun takes the run directory's lock (creating dir), failing at once
// with ErrRunLocked naming the holder's PID when another process holds it.
func LockRun(dir string) (*RunLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf("process %d", pid)
			}
			return nil, fmt.Errorf("%w: %s is written by %s (wait for it to finish or stop it first)", ErrRunLocked, dir, holder)
		}
		return nil, fmt.Errorf("trainer: locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &RunLock{f: f}, nil
}

// Unlock releases the lock.
func (l *RunLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// clearRunDir empties a run directory RemoveRunDir would delete, keeping
// the lock file this process holds (deleting it would let a second writer
// lock a new file of the same name).
func clearRunDir(dir string) error {
	if err := CheckRemovable(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == LockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
