package plots

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MetricsFile and ConfigFile are the names ReadRun looks for in a run directory.
const (
	MetricsFile = "metrics.jsonl"
	ConfigFile  = "config.yaml"
)

// maxWarnings bounds Run.Warnings; the counts (Skipped, Ignored) stay exact.
const maxWarnings = 20

// Series is one metric over optimizer steps. Steps ascend strictly; Values[i]
// belongs to Steps[i] and may be NaN or ±Inf (a null, "NaN" or "Infinity" in
// the file), which plots draw as a gap. When a step appears twice for the same
// key (a resumed run rewriting steps), the later line wins.
type Series struct {
	Key    string
	Steps  []int
	Values []float64

	// Window is the rolling-mean window Smooth applied (0: the measured
	// values) and Raw the measured series it smoothed (nil when not smoothed).
	Window int
	Raw    *Series
}

// Len is the number of points, finite or not.
func (s *Series) Len() int {
	if s == nil {
		return 0
	}
	return len(s.Steps)
}

// At returns the value recorded at step and whether the step is present.
func (s *Series) At(step int) (float64, bool) {
	if s == nil {
		return math.NaN(), false
	}
	i := sort.SearchInts(s.Steps, step)
	if i < len(s.Steps) && s.Steps[i] == step {
		return s.Values[i], true
	}
	return math.NaN(), false
}

// Finite returns the steps and values of the finite points, in step order.
func (s *Series) Finite() (steps []int, values []float64) {
	if s == nil {
		return nil, nil
	}
	for i, v := range s.Values {
		if isFinite(v) {
			steps = append(steps, s.Steps[i])
			values = append(values, v)
		}
	}
	return steps, values
}

// HasFinite reports whether the series holds at least one finite value.
func (s *Series) HasFinite() bool {
	if s == nil {
		return false
	}
	for _, v := range s.Values {
		if isFinite(v) {
			return true
		}
	}
	return false
}

// Run is one run directory's recorded metrics.
type Run struct {
	Dir   string // the directory read; "" for ParseMetrics
	Label string // legend name: "name seed=S" from config.yaml, else the directory's base name
	Name  string // top-level name: of config.yaml; "" if absent
	Seed  string // top-level seed: of config.yaml, as written; "" if absent

	// Group joins runs into one band (mean, 95% bootstrap CI over seeds): runs with the same
	// non-empty Group are seeds of one configuration. ReadRun sets it to
	// [GroupKey] of the run; set it yourself for an explicit grouping, or
	// to the Label to keep a run on its own.
	Group string

	// Config is the run's resolved config.yaml as dotted keys (nil without
	// one); runs whose Configs differ only in NotIdentity share a Group.
	Config map[string]string

	Series map[string]*Series // by metric key

	Lines    int      // lines that held a record
	Skipped  int      // lines that could not be parsed (torn, not JSON, no step)
	Ignored  int      // values that were neither numbers, null nor numeric strings
	Warnings []string // the first messages about skipped lines and ignored values
}

// Get returns the series for key, or nil when the run never recorded it.
func (r *Run) Get(key string) *Series {
	if r == nil {
		return nil
	}
	return r.Series[key]
}

// Keys lists the run's metric keys, sorted.
func (r *Run) Keys() []string {
	if r == nil {
		return nil
	}
	keys := make([]string, 0, len(r.Series))
	for k := range r.Series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Steps lists every step at which the run recorded anything, ascending.
func (r *Run) Steps() []int {
	if r == nil {
		return nil
	}
	seen := map[int]bool{}
	var steps []int
	for _, s := range r.Series {
		for _, st := range s.Steps {
			if !seen[st] {
				seen[st] = true
				steps = append(steps, st)
			}
		}
	}
	sort.Ints(steps)
	return steps
}

func (r *Run) warnf(format string, args ...any) {
	if len(r.Warnings) < maxWarnings {
		r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
	}
}

// ReadRun reads dir/metrics.jsonl and, when present, dir/config.yaml.
//
// The label is "name seed=S" when config.yaml has a top-level name: (and
// seed:), else the directory's base name. Group is the run's identity: a
// hash of its resolved config without the seed, so only runs that differ in
// nothing but the seed share a band; without a config.yaml it is [GroupKey].
// Lines that cannot be parsed are skipped and counted (Run.Skipped, with the
// first messages in Run.Warnings), so a torn last line never fails the file;
// an empty file gives a run with no series. An unreadable config.yaml only
// adds a warning. The error is for a missing or unreadable metrics file.
func ReadRun(dir string) (*Run, error) {
	f, err := os.Open(filepath.Join(dir, MetricsFile))
	if err != nil {
		return nil, fmt.Errorf("plots: read run: %w", err)
	}
	defer f.Close()
	r, err := ParseMetrics(f)
	if err != nil {
		return nil, fmt.Errorf("plots: read run %s: %w", dir, err)
	}
	r.Dir = dir
	readConfig(r, filepath.Join(dir, ConfigFile))
	base := filepath.Base(filepath.Clean(dir))
	switch {
	case r.Name != "" && r.Seed != "":
		r.Label = r.Name + " seed=" + r.Seed
	case r.Name != "":
		r.Label = r.Name
	default:
		r.Label = base
	}
	r.Group = GroupKey(r)
	readIdentity(r, dir)
	return r, nil
}

// readConfig fills r.Name and r.Seed from the top level of a YAML file.
func readConfig(r *Run, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.warnf("%s: %v", ConfigFile, err)
		}
		return
	}
	var top struct {
		Name any `yaml:"name"`
		Seed any `yaml:"seed"`
	}
	if err := yaml.Unmarshal(b, &top); err != nil {
		r.warnf("%s: %v", ConfigFile, err)
		return
	}
	if s := scalarString(top.Name); s != "" {
		r.Name = s
	}
	if s := scalarString(top.Seed); s != "" {
		r.Seed = s
	}
}

func scalarString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v)
	}
	return "" // a mapping or sequence is not a name
}

// seedSuffix matches a trailing seed marker in a directory name: "_seed1",
// "-seed=2", "seed3", ".s4", "_s5".
var seedSuffix = regexp.MustCompile(`(?i)([-_.]?seed[-_=]?\d+|[-_.]s\d+)$`)

// GroupKey is the group ReadRun gives a run: its config name when
// config.yaml has one, else its label with a trailing seed marker removed
// ("grpo_seed1" and "grpo_seed2" both give "grpo"; "_s3", "-seed=4" and
// ".seed5" are recognised too). Runs sharing a key are drawn as the mean of
// the seeds with a 95% bootstrap confidence band.
func GroupKey(r *Run) string {
	if r.Name != "" {
		return r.Name
	}
	if k := seedSuffix.ReplaceAllString(r.Label, ""); k != "" {
		return k
	}
	return r.Label
}

// ParseMetrics reads metrics records, one JSON object per line:
//
//	{"step": N, "data": {"key": value, ...}}
//
// A line without "data" takes every top-level key other than "step" as a
// metric. Values may be numbers, null (NaN), numeric strings such as "NaN",
// "Infinity" or "-Infinity", or Python's bare NaN/Infinity/-Infinity tokens.
// The step must be an integer (12.0 is accepted). Blank lines are ignored;
// other lines that do not parse are skipped and counted. The error is for a
// failing reader only.
func ParseMetrics(rd io.Reader) (*Run, error) {
	r := &Run{Series: map[string]*Series{}}
	type point struct {
		step int
		v    float64
	}
	raw := map[string][]point{}
	br := bufio.NewReaderSize(rd, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			step, data, perr := parseLine(t)
			if perr != nil {
				r.Skipped++
				r.warnf("%s:%d: skipped: %v", MetricsFile, lineNo, perr)
			} else {
				r.Lines++
				keys := make([]string, 0, len(data))
				for k := range data {
					keys = append(keys, k)
				}
				sort.Strings(keys) // warnings in a stable order
				for _, k := range keys {
					v, ok := parseValue(data[k])
					if !ok {
						r.Ignored++
						r.warnf("%s:%d: %s: not a number: %.40s", MetricsFile, lineNo, k, data[k])
						continue
					}
					raw[k] = append(raw[k], point{step, v})
				}
			}
		}
		if err != nil { // io.EOF after the last (possibly unterminated) line
			break
		}
	}
	for k, pts := range raw {
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].step < pts[j].step })
		s := &Series{Key: k}
		for i, p := range pts {
			if i+1 < len(pts) && pts[i+1].step == p.step {
				continue // a later line rewrote this step
			}
			s.Steps = append(s.Steps, p.step)
			s.Values = append(s.Values, p.v)
		}
		r.Series[k] = s
	}
	return r, nil
}

// parseLine decodes one record into its step and raw metric values.
func parseLine(line []byte) (int, map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(quoteBareNonFinite(line), &top); err != nil {
		return 0, nil, err
	}
	rawStep, ok := top["step"]
	if !ok {
		return 0, nil, errors.New(`no "step"`)
	}
	step, ok := parseValue(rawStep)
	if !ok || !isFinite(step) || step != math.Trunc(step) || math.Abs(step) > 1<<53 {
		return 0, nil, fmt.Errorf("step %.40s is not an integer", rawStep)
	}
	if rawData, ok := top["data"]; ok {
		var data map[string]json.RawMessage
		if err := json.Unmarshal(rawData, &data); err != nil {
			return 0, nil, fmt.Errorf(`"data": %w`, err)
		}
		return int(step), data, nil
	}
	delete(top, "step")
	return int(step), top, nil
}

// parseValue reads a metric value: a JSON number, null (NaN) or a string
// strconv.ParseFloat accepts ("NaN", "Infinity", "-inf", "1e-3").
func parseValue(raw json.RawMessage) (float64, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return 0, false
	}
	switch t[0] {
	case 'n':
		if string(t) == "null" {
			return math.NaN(), true
		}
		return 0, false
	case '"':
		var s string
		if json.Unmarshal(t, &s) != nil {
			return 0, false
		}
		return parseFloat(strings.TrimSpace(s))
	case 't', 'f', '{', '[':
		return 0, false
	}
	return parseFloat(string(t))
}

func parseFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, true // 1e999 is +Inf, 1e-999 is 0
		}
		return 0, false
	}
	return v, true
}

// quoteBareNonFinite rewrites the NaN, Infinity and -Infinity tokens that
// Python's json.dumps writes (invalid JSON) into strings, leaving string
// contents alone. It returns line itself when there is nothing to rewrite.
func quoteBareNonFinite(line []byte) []byte {
	var out []byte
	inString, escaped := false, false
	last := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		var tok string
		switch {
		case bytes.HasPrefix(line[i:], []byte("-Infinity")):
			tok = "-Infinity"
		case bytes.HasPrefix(line[i:], []byte("Infinity")):
			tok = "Infinity"
		case bytes.HasPrefix(line[i:], []byte("NaN")):
			tok = "NaN"
		default:
			continue
		}
		out = append(out, line[last:i]...)
		out = append(out, '"')
		out = append(out, tok...)
		out = append(out, '"')
		i += len(tok) - 1
		last = i + 1
	}
	if out == nil {
		return line
	}
	return append(out, line[last:]...)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
