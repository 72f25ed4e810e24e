package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/entrolab/entrolab/internal/atomicfile"
)

// StatusFile is the run-state file `entrolab train` keeps in a run directory.
const StatusFile = "status.json"

// Run states shown on the runs page.
const (
	StateRunning     = "running"
	StateDone        = "done"
	StateFailed      = "failed"
	StateInterrupted = "interrupted"
	StateUnknown     = "unknown"
)

// Status is the content of status.json: what the training process last said
// about the run. PID and Host let a reader tell a live "running" from one
// whose process died without saying so (kill -9): that run is failed.
type Status struct {
	State   string    `json:"state"`
	PID     int       `json:"pid,omitempty"`
	Host    string    `json:"host,omitempty"`
	Error   string    `json:"error,omitempty"` // why a failed run stopped
	Updated time.Time `json:"updated"`
}

// WriteStatus records state for the run in dir (atomically), with this
// process's id and host; errText says why a failed run stopped.
func WriteStatus(dir, state, errText string) error {
	host, _ := os.Hostname()
	b, _ := json.MarshalIndent(Status{State: state, PID: os.Getpid(), Host: host, Error: errText, Updated: time.Now().UTC()}, "", "  ")
	return atomicfile.Write(filepath.Join(dir, StatusFile), append(b, '\n'))
}

// recentWrite is how long after its last metrics line a run without a
// status file still counts as running.
const recentWrite = 2 * time.Minute

// runState decides a run's state: from status.json when present (a
// "running" whose process is gone on this host is failed), else inferred:
// done when the last step reached train.steps, running when metrics.jsonl
// was written in the last two minutes, interrupted when a checkpoint exists,
// else unknown. inferred is set when the state is not the one status.json
// records (no file, or its process gone); why then says from what.
func runState(st *Status, lastStep, totalSteps int, metricsMod time.Time, hasCheckpoint bool, now time.Time) (state, why string, inferred bool) {
	if st != nil && st.State != "" {
		if st.State == StateRunning && st.PID > 0 && !processAlive(st.Host, st.PID) {
			return StateFailed, "status.json says running, but its training process has ended without recording a final state (killed?)", true
		}
		return st.State, st.Error, false
	}
	switch {
	case totalSteps > 0 && lastStep >= totalSteps:
		return StateDone, "inferred (no status.json): the last step reached train.steps", true
	case !metricsMod.IsZero() && now.Sub(metricsMod) < recentWrite:
		return StateRunning, "inferred (no status.json): metrics.jsonl was written in the last two minutes", true
	case hasCheckpoint:
		return StateInterrupted, "inferred (no status.json): stopped before train.steps with a checkpoint", true
	}
	return StateUnknown, "no status.json, and nothing to infer a state from", true
}
