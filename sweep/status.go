package sweep

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// CellStatus is one cell as Status sees it.
type CellStatus struct {
	Cell
	State string // done, running, failed, interrupted, pending
	Step  int    // last step in metrics.jsonl
	Job   string // the batch job that ran or runs it, if any
	Queue string // its squeue state (PENDING, RUNNING, …) when squeue lists it
	Error string // for failed cells
}

// Status reads every cell's state from the files of the sweep in dir, and
// from squeue when it is on PATH and the sweep was submitted to Slurm.
func Status(dir string) ([]CellStatus, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	queue := squeueStates(dir, m)
	out := make([]CellStatus, len(m.Cells))
	for i, cell := range m.Cells {
		out[i] = cellStatus(dir, cell, queue)
	}
	return out, nil
}

// cellStatus decides a cell's state. queue maps a cell index to its squeue
// state; nil when squeue is not available.
func cellStatus(dir string, cell Cell, queue map[int]queued) CellStatus {
	cs := CellStatus{Cell: cell, State: "pending", Step: lastStep(filepath.Join(dir, cell.Name, "metrics.jsonl"))}
	q, inQueue := queue[cell.Index]
	if inQueue {
		cs.Job, cs.Queue = q.job, q.state
	}
	if runState(filepath.Join(dir, cell.Name), cell.Steps) == stateDone {
		cs.State = "done"
		return cs
	}
	st, ok := readState(dir, cell)
	if !ok {
		if inQueue && q.state == "RUNNING" {
			cs.State = "running"
		}
		return cs
	}
	if cs.Job == "" {
		cs.Job = st.Job
	}
	switch st.State {
	case "running":
		cs.State = "running"
		host, _ := os.Hostname()
		switch {
		case queue != nil && st.Job != "" && strings.Contains(st.Job, "_"):
			// a Slurm task: squeue knows whether it still runs
			if !inQueue || q.state != "RUNNING" {
				cs.State = "interrupted"
				if inQueue {
					cs.State = "pending"
				}
			}
		case st.Host == host && !alive(st.PID):
			cs.State = "interrupted"
		}
	case "failed":
		cs.State, cs.Error = "failed", st.Error
	case "interrupted":
		cs.State = "interrupted"
		if inQueue {
			cs.State = map[bool]string{true: "running", false: "pending"}[q.state == "RUNNING"]
		}
	}
	return cs
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// a zombie answers kill -0: read its state
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// lastStep is the step of the last whole line of a metrics file (0 if none).
func lastStep(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	last := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Step > last {
			last = l.Step
		}
	}
	return last
}

// WriteStatus prints a status table: a count per state, then one line per cell.
func WriteStatus(w io.Writer, dir string, cells []CellStatus) {
	count := map[string]int{}
	for _, c := range cells {
		count[c.State]++
	}
	fmt.Fprintf(w, "sweep %s: %d cells: %d done, %d running, %d failed, %d interrupted, %d pending\n",
		dir, len(cells), count["done"], count["running"], count["failed"], count["interrupted"], count["pending"])
	width := 4
	for _, c := range cells {
		width = max(width, len(c.Name))
	}
	for _, c := range cells {
		line := fmt.Sprintf("%4d  %-*s  %-11s %5d/%-5d", c.Index, width, c.Name, c.State, c.Step, c.Steps)
		if c.Job != "" {
			line += "  job " + c.Job
		}
		if c.Queue != "" {
			line += " " + c.Queue
		}
		if c.Error != "" {
			line += "  error: " + c.Error
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}
