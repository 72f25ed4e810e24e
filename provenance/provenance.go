// Package provenance records what produced a run: the commit of the code,
// whether the tree had uncommitted changes, the Go version and when the
// process started. `train` and sweep cells append one line to
// RUN_DIR/provenance.jsonl each time a process starts (or resumes) a run, so
// a run resumed under other code says so; the sweep report shows them.
//
// The commit comes from the binary's build info (vcs.revision and
// vcs.modified, which `go build` stamps unless -buildvcs=false), else from
// git run in the source tree this binary was compiled from (found from this
// file's compile-time path; or the working directory), accepted only when
// that tree's go.mod is entrolab's — then Source says the tree may differ
// from the build. Otherwise Commit is "unknown": never a guess.
package provenance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/entrolab/entrolab/internal/atomicfile"
)

// File is the provenance file of a run directory.
const File = "provenance.jsonl"

// Unknown is the Commit of a run whose code could not be identified.
const Unknown = "unknown"

const modulePath = "github.com/entrolab/entrolab"

// Record is one process's start on a run.
type Record struct {
	FromStep int       `json:"from_step"`          // the first step this process ran (0 for a fresh run)
	Started  time.Time `json:"started"`            // UTC
	Commit   string    `json:"commit"`             // full revision, or "unknown"
	Describe string    `json:"describe,omitempty"` // git describe --always --dirty, when git was asked
	Modified *bool     `json:"modified,omitempty"` // uncommitted changes; nil when not known
	Source   string    `json:"source"`             // how Commit was found
	Go       string    `json:"go"`
	Host     string    `json:"host,omitempty"`
}

var (
	once sync.Once
	code Record
)

// Current is this process's code identity (Started and FromStep unset).
func Current() Record {
	once.Do(func() { code = detect() })
	return code
}

func detect() Record {
	r := Record{Commit: Unknown, Source: "none: no VCS stamp in the binary and no entrolab git tree found", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, mod string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				mod = s.Value
			}
		}
		if rev != "" {
			r.Commit, r.Source = rev, "build info (vcs.revision)"
			if mod != "" {
				m := mod == "true"
				r.Modified = &m
			}
			return r
		}
	}
	var dirs []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dirs = append(dirs, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	for _, d := range dirs {
		top, err := git(d, "rev-parse", "--show-toplevel")
		if err != nil || !isEntrolab(top) {
			continue
		}
		rev, err := git(top, "rev-parse", "HEAD")
		if err != nil {
			continue
		}
		r.Commit = rev
		r.Source = "git in " + top + " at run start (the binary has no VCS stamp; its build may differ from this tree)"
		if desc, err := git(top, "describe", "--always", "--dirty", "--abbrev=12"); err == nil {
			r.Describe = desc
			m := strings.HasSuffix(desc, "-dirty")
			r.Modified = &m
		}
		return r
	}
	return r
}

func git(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}

// isEntrolab reports whether dir/go.mod declares this module.
func isEntrolab(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(l, "module ")) == modulePath
		}
	}
	return false
}

// Append records this process starting the run in dir at fromStep (one
// JSON line appended to dir/provenance.jsonl).
func Append(dir string, fromStep int) error {
	r := Current()
	r.FromStep = fromStep
	r.Started = time.Now().UTC().Truncate(time.Second)
	r.Host, _ = os.Hostname()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.Append(filepath.Join(dir, File), append(b, '\n')); err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	return nil
}

// Read returns the records of dir/provenance.jsonl in order (nil, nil when
// the run has none: it was made before entrolab recorded provenance). A
// line that does not parse is an error naming it.
func Read(dir string) ([]Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	var out []Record
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("provenance: %s:%d: %w", filepath.Join(dir, File), i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Short is a record's commit for people: the describe string, else the
// first 12 hex digits with "(modified)" when the tree had changes, else
// "unknown".
func (r Record) Short() string {
	if r.Commit == "" || r.Commit == Unknown {
		return Unknown
	}
	if r.Describe != "" {
		return r.Describe
	}
	s := r.Commit
	if len(s) > 12 {
		s = s[:12]
	}
	if r.Modified != nil && *r.Modified {
		s += " (modified)"
	}
	return s
}
