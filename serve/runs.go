package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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
	Inferred  bool     `json:"status_inferred,omitempty"` // Status is inferred, not what status.json records
	Step      int      `json:"step"`                      // last step in metrics.jsonl
	Steps     int      `json:"steps"`                     // train.steps of the config; 0 if unknown
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

// readChunk is how much of metrics.jsonl a first load reads at a time (a
// variable for the tests).
var readChunk int64 = 1 << 20

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
	unreadable := ""
	if b, _, err := s.readInRoot(id+"/"+StatusFile, 1<<16, false); err == nil {
		st = &Status{}
		if err := json.Unmarshal(b, st); err != nil {
			st, unreadable = nil, fmt.Sprintf("%s does not parse (%v); ", StatusFile, err)
		}
	}
	var mod time.Time
	if mfi != nil {
		mod = mfi.ModTime()
	}
	info.Status, info.StatusWhy, info.Inferred = runState(st, info.Step, info.Steps, mod, hasCk == nil, now)
	if unreadable != "" {
		info.StatusWhy = unreadable + info.StatusWhy
	}
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

// metricsEntry caches a run's parsed metrics. A file that only grew (same
// file, larger) is parsed from offset on and appended; any other change
// (replaced by a resume's trim, shrunk, config.yaml changed, a step
// rewritten) parses it again whole.
type metricsEntry struct {
	mu     sync.Mutex // serialises loads of this run
	ckey   string     // config.yaml's size and time when parsed
	fi     os.FileInfo
	offset int64 // bytes of metrics.jsonl parsed: up to a newline
	run    *plots.Run
}

// loadRun reads run id's metrics through plots.ReadRun (so labels and
// groups are those of `entrolab plot`), cached, with only the appended
// lines parsed while a run grows. The version string changes with the file.
// The returned run is never modified afterwards: callers may share it.
func (s *Server) loadRun(id string) (*plots.Run, string, error) {
	abs, err := s.runDir(id)
	if err != nil {
		s.forget(id)
		return nil, "", err
	}
	mrel := id + "/" + plots.MetricsFile
	mkey, mfi := s.fileKey(mrel)
	if mfi == nil {
		s.forget(id)
		return nil, "", fmt.Errorf("serve: %s has no %s yet: %w", id, plots.MetricsFile, ErrNotRun)
	}
	if mfi.Size() > maxMetricsBytes {
		return nil, "", fmt.Errorf("serve: %s is %d bytes, more than the %d this server reads", mrel, mfi.Size(), int64(maxMetricsBytes))
	}
	ckey, _ := s.fileKey(id + "/" + plots.ConfigFile)
	s.mu.Lock()
	e, ok := s.metrics[id]
	if !ok {
		e = &metricsEntry{}
		s.metrics[id] = e
	}
	s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.run != nil && e.ckey == ckey && os.SameFile(e.fi, mfi) {
		if mfi.Size() == e.fi.Size() && mfi.ModTime().Equal(e.fi.ModTime()) {
			return e.run, mkey, nil
		}
		if mfi.Size() >= e.offset {
			if r, off, ok := s.appendRun(mrel, e.run, e.offset, mfi.Size()); ok {
				e.run, e.offset, e.fi = r, off, mfi
				return r, mkey, nil
			}
		}
	}
	// whole file, up to the size seen now; the offset is that of its last
	// newline (an unterminated last line is parsed, and read again when
	// the next append completes it)
	r, off, err := s.readRun(id, abs, mfi.Size())
	if err != nil {
		s.forget(id)
		return nil, "", err
	}
	e.run, e.offset, e.fi, e.ckey = r, off, mfi, ckey
	return r, mkey, nil
}

// readRun is plots.ReadRun made cheaper for long runs: the first size
// bytes of metrics.jsonl are read in chunks through metricsParser (the
// lines without the keys no page shows), and the label and group are set
// by ReadRun's rules (TestIncrementalLoad checks that both agree with
// ReadRun). off is the offset just past the last newline read.
func (s *Server) readRun(id, abs string, size int64) (_ *plots.Run, off int64, _ error) {
	f, err := s.root.Open(id + "/" + plots.MetricsFile)
	if err != nil {
		return nil, 0, fmt.Errorf("plots: read run: %w", err)
	}
	defer f.Close()
	var p metricsParser
	buf := make([]byte, min(size+1, readChunk))
	filled, rest := 0, size           // bytes in buf; bytes of size not read yet
	for base := int64(0); rest > 0; { // base: the file offset of buf[0]
		n, err := f.Read(buf[filled:min(int64(len(buf)), int64(filled)+rest)])
		filled, rest = filled+n, rest-int64(n)
		if j := bytes.LastIndexByte(buf[:filled], '\n'); j >= 0 {
			if base == 0 { // lines expected, at the first chunk's mean length
				p.lines = int(size/int64((j+1)/bytes.Count(buf[:j+1], []byte{'\n'}))) + 16
			}
			p.feed(buf[:j+1])
			base += int64(j + 1)
			off = base
			filled = copy(buf, buf[j+1:filled])
		}
		if err == io.EOF || n == 0 && err == nil {
			break // shorter than its size said (truncated meanwhile)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("plots: read run: %w", err)
		}
		if filled == len(buf) { // a line longer than the buffer
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
	p.feed(buf[:filled]) // an unterminated last line
	r := p.run()
	r.Dir = abs
	cb, _, cerr := s.readInRoot(id+"/"+plots.ConfigFile, 1<<20, false)
	if cerr == nil {
		c := parseConfig(cb)
		r.Name, r.Seed = strings.TrimSpace(c.Name), strings.TrimSpace(c.Seed)
	}
	switch {
	case r.Name != "" && r.Seed != "":
		r.Label = r.Name + " seed=" + r.Seed
	case r.Name != "":
		r.Label = r.Name
	default:
		r.Label = filepath.Base(abs)
	}
	r.Group = plots.GroupKey(r)
	if cerr == nil {
		plots.SetIdentity(r, cb) // the group plots.ReadRun gives: the resolved config without the seed
	}
	return r, off, nil
}

func (s *Server) forget(id string) {
	s.mu.Lock()
	delete(s.metrics, id)
	delete(s.summaries, id)
	s.mu.Unlock()
}

// appendRun parses the complete lines of rel between from and size and
// returns a copy of r with them appended, and the new offset; ok is false
// when a new line rewrites a step r already has for the same key (then the
// whole file must be parsed again).
func (s *Server) appendRun(rel string, r *plots.Run, from, size int64) (*plots.Run, int64, bool) {
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, 0, false
	}
	defer f.Close()
	buf := make([]byte, size-from)
	if n, err := f.ReadAt(buf, from); err != nil && !(err == io.EOF && int64(n) == size-from) {
		return nil, 0, false
	}
	buf = buf[:bytes.LastIndexByte(buf, '\n')+1]
	if len(buf) == 0 {
		return r, from, true
	}
	add := parseMetrics(buf)
	c := *r
	c.Series = make(map[string]*plots.Series, len(r.Series)+len(add.Series))
	for k, v := range r.Series {
		c.Series[k] = v
	}
	for k, a := range add.Series {
		old := c.Series[k]
		if old.Len() > 0 && a.Len() > 0 && a.Steps[0] <= old.Steps[old.Len()-1] {
			return nil, 0, false
		}
		n := &plots.Series{Key: k}
		if old != nil {
			n.Steps = append(old.Steps[:old.Len():old.Len()], a.Steps...)
			n.Values = append(old.Values[:old.Len():old.Len()], a.Values...)
		} else {
			n.Steps, n.Values = a.Steps, a.Values
		}
		c.Series[k] = n
	}
	c.Lines += add.Lines
	c.Skipped += add.Skipped
	c.Ignored += add.Ignored
	c.Warnings = append(r.Warnings[:len(r.Warnings):len(r.Warnings)], add.Warnings...)
	return &c, from + int64(len(buf)), true
}

// warm parses every run in the background, one at a time (beside a
// training run it should take little from it), so that the first page that
// needs them finds them parsed.
func (s *Server) warm() {
	ids, err := s.listRuns()
	if err != nil {
		return
	}
	s.loadMany(ids, 1)
}

// loadMany loads the runs, workers at a time (0: GOMAXPROCS), and returns
// them in order; a run that fails is nil with its error.
func (s *Server) loadMany(ids []string, workers int) ([]*plots.Run, []string, []error) {
	runs, vers, errs := make([]*plots.Run, len(ids)), make([]string, len(ids)), make([]error, len(ids))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			runs[i], vers[i], errs[i] = s.loadRun(id)
		}()
	}
	wg.Wait()
	return runs, vers, errs
}

// Points drawn per series on a page figure: a budget per figure shared by
// its runs, within bounds (a figure is 480 pixels wide on the page; drawing
// is a quarter of a cold 50-run comparison, so many runs get fewer points
// each: 200 a run for 50).
const (
	figurePointBudget = 10000
	minFigurePoints   = 200
	maxFigurePoints   = 1500
)

// figurePoints is the points per series for a figure of n runs.
func figurePoints(n int) int {
	return max(minFigurePoints, min(maxFigurePoints, figurePointBudget/max(1, n)))
}

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
