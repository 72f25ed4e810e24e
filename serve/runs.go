package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/entrolab/entrolab/plots"
	"gopkg.in/yaml.v3"
)

// runInfo is one row of the runs page (and /api/runs, /api/run).
type runInfo struct {
	ID        string   `json:"id"`
	Sweep     string   `json:"sweep,omitempty"` // the directory holding the run, "" at the top
	Name      string   `json:"name"`
	Method    string   `json:"method"`
	Parts     string   `json:"parts"` // advantage / loss / entropy regularizer
	Task      string   `json:"task"`
	Seed      string   `json:"seed"`
	Status    string   `json:"status"`
	StatusWhy string   `json:"status_why,omitempty"`
	Step      int      `json:"step"`  // last step in metrics.jsonl
	Steps     int      `json:"steps"` // train.steps of the config; 0 if unknown
	Reward    *float64 `json:"reward"`
	Entropy   *float64 `json:"entropy"`
	Accuracy  *float64 `json:"accuracy"` // the last val/accuracy
	AccStep   int      `json:"accuracy_step,omitempty"`
	Version   string   `json:"version"` // changes whenever metrics.jsonl does
	Gone      bool     `json:"gone,omitempty"`
}

// runConfig is what the pages show of config.yaml.
type runConfig struct {
	Name, Seed, Task, Method, Parts string
	Steps                           int
	Text                            string
}

// parseConfig reads the fields the pages show from a resolved config.
func parseConfig(b []byte) runConfig {
	c := runConfig{Text: string(b)}
	var top map[string]any
	if yaml.Unmarshal(b, &top) != nil {
		return c
	}
	get := func(keys ...string) any {
		var v any = top
		for _, k := range keys {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	str := func(v any) string {
		switch v.(type) {
		case nil, map[string]any, []any:
			return ""
		}
		return fmt.Sprint(v)
	}
	c.Name, c.Seed, c.Task = str(get("name")), str(get("seed")), str(get("task", "name"))
	if n, ok := get("train", "steps").(int); ok {
		c.Steps = n
	}
	adv, loss, ent := str(get("algorithm", "advantage", "name")), str(get("algorithm", "loss", "name")), str(get("algorithm", "entropy", "name"))
	var parts []string
	for _, p := range []string{adv, loss, ent} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	c.Parts = strings.Join(parts, " / ")
	// bundled experiments are named METHOD_TASK
	c.Method = c.Name
	if c.Task != "" && strings.HasSuffix(c.Name, "_"+c.Task) {
		c.Method = strings.TrimSuffix(c.Name, "_"+c.Task)
	}
	return c
}

// tailChunk is how much of the end of metrics.jsonl a runs-page row reads
// at a time; up to maxTail is read looking for the last val/accuracy.
const (
	tailChunk = 64 << 10
	maxTail   = 4 << 20
)

// tailValues reads the last step and the last reward, entropy and
// val/accuracy from the end of a metrics file of the given size, without
// reading the whole file. Complete lines only: a torn last line is skipped.
func (s *Server) tailValues(rel string, size int64, info *runInfo) error {
	f, err := s.root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	end := size
	var carry []byte
	first := true
	for end > 0 && size-end < maxTail {
		start := max(0, end-tailChunk)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return err
		}
		buf = append(buf, carry...)
		if first {
			buf = buf[:bytes.LastIndexByte(buf, '\n')+1] // drop a torn last line
			first = false
		}
		carry = nil
		if start > 0 { // the first line may be cut: keep it for the next chunk
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				carry, end = buf, start
				continue
			}
			carry, buf = append([]byte(nil), buf[:i+1]...), buf[i+1:]
		}
		lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
		for i := len(lines) - 1; i >= 0; i-- {
			var l struct {
				Step int            `json:"step"`
				Data map[string]any `json:"data"`
			}
			if len(bytes.TrimSpace(lines[i])) == 0 || json.Unmarshal(lines[i], &l) != nil {
				continue
			}
			if l.Step > info.Step {
				info.Step = l.Step
			}
			pick := func(dst **float64, key string) bool {
				if *dst != nil {
					return false
				}
				if v, ok := l.Data[key].(float64); ok && !math.IsNaN(v) {
					*dst = &v
					return true
				}
				return false
			}
			pick(&info.Reward, plots.KeyReward)
			pick(&info.Entropy, plots.KeyEntropy)
			if pick(&info.Accuracy, plots.KeyValAccuracy) {
				info.AccStep = l.Step
			}
			if info.Reward != nil && info.Entropy != nil && info.Accuracy != nil {
				return nil
			}
		}
		end = start
	}
	return nil
}

// summaryEntry caches a runs-page row by the versions of the run's files.
type summaryEntry struct {
	key  string
	info runInfo
}

// fileKey is a file's size and modification time, "" when absent.
func (s *Server) fileKey(rel string) (string, os.FileInfo) {
	fi, err := s.root.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil
	}
	return fmt.Sprintf("%d.%d", fi.Size(), fi.ModTime().UnixNano()), fi
}

// summary is the runs-page row of run id.
func (s *Server) summary(id string) (runInfo, error) {
	if _, err := s.runDir(id); err != nil {
		return runInfo{ID: id, Gone: true}, err
	}
	mkey, mfi := s.fileKey(id + "/" + plots.MetricsFile)
	ckey, _ := s.fileKey(id + "/" + plots.ConfigFile)
	skey, _ := s.fileKey(id + "/" + StatusFile)
	_, hasCk := s.root.Lstat(id + "/checkpoints/latest")
	key := mkey + "|" + ckey + "|" + skey
	now := s.now()
	s.mu.Lock()
	e, ok := s.summaries[id]
	s.mu.Unlock()
	var info runInfo
	if ok && e.key == key {
		info = e.info
	} else {
		info = runInfo{ID: id, Sweep: sweepOf(id), Version: mkey}
		if b, _, err := s.readInRoot(id+"/"+plots.ConfigFile, 1<<20, false); err == nil {
			c := parseConfig(b)
			info.Name, info.Seed, info.Task, info.Method, info.Parts, info.Steps = c.Name, c.Seed, c.Task, c.Method, c.Parts, c.Steps
		}
		if info.Name == "" {
			info.Name = id[strings.LastIndexByte(id, '/')+1:]
		}
		if mfi != nil {
			if err := s.tailValues(id+"/"+plots.MetricsFile, mfi.Size(), &info); err != nil {
				return runInfo{ID: id, Gone: true}, err
			}
		}
		s.mu.Lock()
		s.summaries[id] = &summaryEntry{key: key, info: info}
		s.mu.Unlock()
	}
	var st *Status
	if b, _, err := s.readInRoot(id+"/"+StatusFile, 1<<16, false); err == nil {
		st = &Status{}
		if json.Unmarshal(b, st) != nil {
			st = nil
		}
	}
	var mod time.Time
	if mfi != nil {
		mod = mfi.ModTime()
	}
	info.Status, info.StatusWhy = runState(st, info.Step, info.Steps, mod, hasCk == nil, now)
	return info, nil
}

// summaries lists every run's row.
func (s *Server) summariesAll() ([]runInfo, error) {
	ids, err := s.listRuns()
	if err != nil {
		return nil, err
	}
	out := make([]runInfo, 0, len(ids))
	for _, id := range ids {
		info, err := s.summary(id)
		if err != nil {
			continue // removed between the walk and now
		}
		out = append(out, info)
	}
	return out, nil
}

// ---- parsed metrics ----

// metricsEntry caches a run's parsed metrics by the versions of its files.
type metricsEntry struct {
	key string
	run *plots.Run
}

// loadRun reads run id's metrics (through plots.ReadRun, so labels and
// groups are those of `entrolab plot`), cached until metrics.jsonl or
// config.yaml changes. The version string changes with the file.
func (s *Server) loadRun(id string) (*plots.Run, string, error) {
	abs, err := s.runDir(id)
	if err != nil {
		return nil, "", err
	}
	mkey, mfi := s.fileKey(id + "/" + plots.MetricsFile)
	if mfi == nil {
		return nil, "", fmt.Errorf("serve: %s has no %s yet", id, plots.MetricsFile)
	}
	if mfi.Size() > maxMetricsBytes {
		return nil, "", fmt.Errorf("serve: %s/%s is %d bytes, more than the %d this server reads", id, plots.MetricsFile, mfi.Size(), int64(maxMetricsBytes))
	}
	ckey, _ := s.fileKey(id + "/" + plots.ConfigFile)
	key := mkey + "|" + ckey
	s.mu.Lock()
	e, ok := s.metrics[id]
	s.mu.Unlock()
	if ok && e.key == key {
		return e.run, mkey, nil
	}
	r, err := plots.ReadRun(abs)
	if err != nil {
		s.mu.Lock()
		delete(s.metrics, id)
		s.mu.Unlock()
		return nil, "", err
	}
	s.mu.Lock()
	s.metrics[id] = &metricsEntry{key: key, run: r}
	s.mu.Unlock()
	return r, mkey, nil
}

// maxFigurePoints bounds the points per series drawn on a page figure.
const maxFigurePoints = 2000

// thin returns a copy of r whose series keep every k-th point (and the
// last), k chosen so that none has more than maxPts; r itself when no
// series is longer. Seeds recorded at the same steps keep the same steps.
func thin(r *plots.Run, maxPts int) (*plots.Run, int) {
	k := 1
	for _, s := range r.Series {
		k = max(k, (s.Len()+maxPts-1)/maxPts)
	}
	if k == 1 {
		return r, 1
	}
	c := *r
	c.Series = make(map[string]*plots.Series, len(r.Series))
	for key, s := range r.Series {
		t := &plots.Series{Key: s.Key}
		for i := range s.Steps {
			if s.Steps[i]%k == 0 || i == len(s.Steps)-1 || s.Len() <= maxPts {
				t.Steps = append(t.Steps, s.Steps[i])
				t.Values = append(t.Values, s.Values[i])
			}
		}
		c.Series[key] = t
	}
	return &c, k
}

// compareGroups joins runs into the bands of a comparison. It is the one
// place the live view decides which runs share a band, and it uses the rule
// `entrolab plot` and the sweep figures use (the Group that plots.ReadRun
// sets, plots.GroupRuns), so the pages and the files never disagree.
func compareGroups(runs []*plots.Run) []plots.Group {
	return plots.GroupRuns(runs)
}
