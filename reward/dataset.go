package reward

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the dataset reader.
const (
	// MaxLineBytes bounds one JSONL line; a longer line is an error.
	MaxLineBytes = 1 << 20
	// indexStride is how many lines share one index entry: the reader keeps
	// the byte offset of every indexStride-th line and scans forward from it,
	// so a file's index costs 8 bytes per indexStride lines.
	indexStride = 64
	// maxChars bounds the distinct characters of a training file (the
	// vocabulary of a tokenizer built from it).
	maxChars = 1 << 16
	// maxReported bounds the examples listed in a duplicate or overlap error.
	maxReported = 5
)

func (c Config) refuseDatasetKeys() error {
	for _, k := range []struct {
		key string
		set bool
	}{
		{"train", c.Train != ""}, {"test", c.Test != ""}, {"tokenizer", c.Tokenizer != ""},
		{"allow_overlap", c.AllowOverlap}, {"verifier", c.Verifier != ""},
		{"numeric", c.Numeric != (NumericConfig{})}, {"choice", !c.Choice.IsZero()},
		{"regex", c.Regex != (RegexConfig{})}, {"expression", c.Expression != (ExpressionConfig{})},
	} {
		if k.set {
			return fmt.Errorf("reward: task.%s is read only when task.name is dataset (task.name is %q)", k.key, c.Name)
		}
	}
	return nil
}

func (c Config) validateDataset() error {
	if c.Train == "" {
		return fmt.Errorf("reward: task.train is empty; the dataset task needs a training JSONL file")
	}
	if c.Test == "" {
		return fmt.Errorf("reward: task.test is empty; the dataset task needs a held-out JSONL file")
	}
	for _, f := range []struct{ key, path string }{{"train", c.Train}, {"test", c.Test}} {
		st, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("reward: task.%s: %w", f.key, err)
		}
		if st.IsDir() {
			return fmt.Errorf("reward: task.%s %s is a directory, want a JSONL file", f.key, f.path)
		}
	}
	return c.validateVerifier()
}

// Dataset is the user's own task: problems are the lines of two JSONL
// files, scored by a built-in verifier (task.verifier) with the usual
// weights (correct_reward, format_reward, 0).
//
// Each line is one JSON object with a string "prompt" (non-empty), an
// "answer" (a string, or a number read as its literal text; the SFT
// target), an optional "id" (string or number; unique within its file) and
// any other fields, which are kept (Problem.Extra) and passed to a reward
// command. "numbers" and "target" feed the expression verifier, "options"
// the choice verifier.
//
// Opening validates both files in one streaming pass each before any work:
// the first bad line is an error naming file:line and the problem; a
// duplicate id, or (unless allow_overlap) a test prompt that also occurs in
// train, is an error listing the first few cases with both lines. Memory
// stays bounded: the files are never read whole; validation holds 8 bytes
// per line (hashes of ids and prompts) while it runs, and afterwards a file
// costs 8 bytes per 64 lines (an offset index). Generate reads one line
// from disk per problem.
//
// Train problems are drawn uniformly with replacement from the training
// file; held-out ones from the test file. HeldOut lists the test file in
// order, which is what evaluations use.
type Dataset struct {
	w           weights
	v           verifier
	train, test *jsonlFile
	chars       []rune // distinct characters of the training prompts and answers, sorted
	overlap     int    // test prompts also in train (only when allow_overlap)
}

var (
	_ Task     = (*Dataset)(nil)
	_ Lister   = (*Dataset)(nil)
	_ Streamer = (*Dataset)(nil)
)

// Lister is a task with a fixed held-out set, which evaluations use in
// order instead of drawing problems.
type Lister interface {
	// HeldOut returns the first n held-out problems (all of them when there
	// are fewer).
	HeldOut(n int) ([]Problem, error)
}

// Streamer is a task whose problems can all be visited, so that callers can
// check every one against what only they know (the tokenizer, the context
// length).
type Streamer interface {
	// Each calls fn with every problem of both splits in file order and
	// stops at the first error, which it returns prefixed with the
	// problem's file:line.
	Each(fn func(p Problem) error) error
}

// OpenDataset opens and validates the dataset cfg names (see Dataset).
func OpenDataset(cfg Config) (*Dataset, error) {
	if cfg.Name != "dataset" {
		return nil, fmt.Errorf("reward: OpenDataset: task.name is %q, want dataset", cfg.Name)
	}
	if err := cfg.validateWeights(); err != nil {
		return nil, err
	}
	if err := cfg.validateDataset(); err != nil {
		return nil, err
	}
	v, err := newVerifier(cfg)
	if err != nil {
		return nil, err
	}
	d := &Dataset{w: cfg.weights(), v: v}
	chars := map[rune]bool{}
	var trainPrompts []uint64
	d.train, err = openJSONL(cfg.Train, Train, v, func(p *Problem) error {
		for _, s := range []string{p.Prompt, p.Answer} {
			for _, r := range s {
				if !chars[r] {
					if len(chars) >= maxChars {
						return fmt.Errorf("more than %d distinct characters in the training data", maxChars)
					}
					chars[r] = true
				}
			}
		}
		trainPrompts = append(trainPrompts, hashString(strings.TrimSpace(p.Prompt)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(trainPrompts)
	var overlap []int // test lines
	d.test, err = openJSONL(cfg.Test, HeldOut, v, func(p *Problem) error {
		if _, ok := slices.BinarySearch(trainPrompts, hashString(strings.TrimSpace(p.Prompt))); ok {
			overlap = append(overlap, lineOf(p.Source))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(overlap) > 0 {
		err := d.overlapError(overlap)
		switch {
		case err == nil: // only hash collisions
		case !cfg.AllowOverlap:
			return nil, err
		default:
			d.overlap = len(overlap)
		}
	}
	for r := range chars {
		d.chars = append(d.chars, r)
	}
	slices.Sort(d.chars)
	return d, nil
}

// overlapError names the first overlapping test lines with their train twins
// (a second pass over the training file finds those); nil when those turn
// out to be hash collisions.
func (d *Dataset) overlapError(testLines []int) error {
	want := map[uint64][]int{} // prompt hash -> test lines
	shown := testLines[:min(len(testLines), maxReported)]
	byLine := map[int]string{}
	err := d.test.scan(func(line int, p Problem) error {
		if slices.Contains(shown, line) {
			h := hashString(strings.TrimSpace(p.Prompt))
			want[h] = append(want[h], line)
			byLine[line] = p.Prompt
		}
		return nil
	})
	if err != nil {
		return err
	}
	twin := map[int]int{} // test line -> first train line
	err = d.train.scan(func(line int, p Problem) error {
		for _, tl := range want[hashString(strings.TrimSpace(p.Prompt))] {
			if _, ok := twin[tl]; !ok && strings.TrimSpace(byLine[tl]) == strings.TrimSpace(p.Prompt) {
				twin[tl] = line
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var cases []string
	for _, tl := range shown {
		if trl, ok := twin[tl]; ok {
			cases = append(cases, fmt.Sprintf("%s:%d = %s:%d %q", d.test.path, tl, d.train.path, trl, byLine[tl]))
		}
	}
	if len(cases) == 0 { // the hashes collided; no prompt is shared
		return nil
	}
	return fmt.Errorf("reward: dataset: %d test prompts also occur in the training data (%s); remove them, or set task.allow_overlap: true to accept and report them",
		len(testLines), strings.Join(cases, ", "))
}

// Close closes the two files.
func (d *Dataset) Close() error {
	return errors.Join(d.train.f.Close(), d.test.f.Close())
}

// Name returns "dataset".
func (*Dataset) Name() string { return "dataset" }

// Generate reads a uniformly drawn line of the split's file. It panics
// when the line cannot be read back as it was validated (the file was
// changed or truncated during the run).
func (d *Dataset) Generate(r *rand.Rand, split Split) Problem {
	f := d.train
	if split == HeldOut {
		f = d.test
	}
	p, err := f.problem(r.IntN(f.n))
	if err != nil {
		panic(err.Error())
	}
	return p
}

// HeldOut returns the first n lines of the test file.
func (d *Dataset) HeldOut(n int) ([]Problem, error) {
	out := make([]Problem, 0, min(n, d.test.n))
	err := d.test.scan(func(_ int, p Problem) error {
		if len(out) >= n {
			return errStop
		}
		out = append(out, p)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

var errStop = errors.New("stop")

// Unwrapper is a task wrapping another (a reward command around the task
// whose problems it scores).
type Unwrapper interface{ Unwrap() Task }

// Inner returns the innermost task of a chain of wrappers.
func Inner(t Task) Task {
	for {
		u, ok := t.(Unwrapper)
		if !ok {
			return t
		}
		t = u.Unwrap()
	}
}

// HeldOutSet returns the n held-out problems an evaluation uses: the first
// n of a Lister's fixed set, else n problems drawn with Generate from r
// (the bundled tasks; r is not touched for a Lister).
func HeldOutSet(t Task, r *rand.Rand, n int) ([]Problem, error) {
	if l, ok := Inner(t).(Lister); ok {
		return l.HeldOut(n)
	}
	out := make([]Problem, n)
	for i := range out {
		out[i] = t.Generate(r, HeldOut)
	}
	return out, nil
}

// Each visits every training then every test problem.
func (d *Dataset) Each(fn func(p Problem) error) error {
	for _, f := range []*jsonlFile{d.train, d.test} {
		if err := f.scan(func(_ int, p Problem) error {
			if err := fn(p); err != nil {
				return fmt.Errorf("reward: %s: %w", p.Source, err)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Score extracts the completion (Extract) and asks the verifier.
func (d *Dataset) Score(p Problem, completion string) Score {
	correct, format := d.v.verify(p, Extract(completion))
	return d.w.score(correct, format)
}

// Chars returns the distinct characters of the training prompts and
// answers, sorted (the alphabet of a tokenizer built from the data).
func (d *Dataset) Chars() []rune { return slices.Clone(d.chars) }

// Summary describes the dataset in one line, e.g.
//
//	dataset: train data/train.jsonl (2000 lines), test data/test.jsonl (200 lines), verifier exact, 41 characters
func (d *Dataset) Summary() string {
	s := fmt.Sprintf("dataset: train %s (%d lines), test %s (%d lines), %d characters", d.train.path, d.train.n, d.test.path, d.test.n, len(d.chars))
	if d.overlap > 0 {
		s += fmt.Sprintf("; %d test prompts also occur in train (allow_overlap)", d.overlap)
	}
	return s
}

// Len returns the number of lines of the split's file.
func (d *Dataset) Len(split Split) int {
	if split == HeldOut {
		return d.test.n
	}
	return d.train.n
}

// jsonlFile is one validated JSONL file, open for reading by line number.
type jsonlFile struct {
	path  string
	split Split
	f     *os.File
	size  int64
	n     int     // lines (blank lines are not allowed)
	index []int64 // [n/indexStride] offset of line i*indexStride (0-based)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

func lineOf(source string) int {
	n, _ := strconv.Atoi(source[strings.LastIndexByte(source, ':')+1:])
	return n
}

// openJSONL validates path line by line and builds its index. each sees
// every parsed problem (its error is reported at the line).
func openJSONL(path string, split Split, v verifier, each func(p *Problem) error) (*jsonlFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reward: dataset: %w", err)
	}
	jf := &jsonlFile{path: path, split: split, f: f}
	var ids []uint64
	err = jf.read(0, func(line int, off int64, raw []byte) error {
		if (line-1)%indexStride == 0 {
			jf.index = append(jf.index, off)
		}
		p, err := jf.parse(line, raw)
		if err != nil {
			return err
		}
		if err := v.check(&p); err != nil {
			return fmt.Errorf("reward: %s: %w", p.Source, err)
		}
		if p.ID != "" {
			ids = append(ids, hashString(p.ID))
		}
		if err := each(&p); err != nil {
			return fmt.Errorf("reward: %s: %w", p.Source, err)
		}
		jf.n = line
		return nil
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	if jf.n == 0 {
		f.Close()
		return nil, fmt.Errorf("reward: dataset: %s has no lines", path)
	}
	if st, err := f.Stat(); err == nil {
		jf.size = st.Size()
	}
	slices.Sort(ids)
	dup := map[uint64]bool{}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			dup[ids[i]] = true
		}
	}
	if len(dup) > 0 {
		if err := jf.duplicateError(dup); err != nil {
			f.Close()
			return nil, err
		}
	}
	return jf, nil
}

// duplicateError names the first duplicate ids with both lines: a second
// pass that looks only at the ids whose hashes repeat (dup), so it holds no
// more than those.
func (jf *jsonlFile) duplicateError(dup map[uint64]bool) error {
	first := map[string]int{}
	var cases []string
	count := 0
	err := jf.scan(func(line int, p Problem) error {
		if p.ID == "" || !dup[hashString(p.ID)] {
			return nil
		}
		if l, ok := first[p.ID]; ok {
			count++
			if len(cases) < maxReported {
				cases = append(cases, fmt.Sprintf("id %q at lines %d and %d", p.ID, l, line))
			}
			return nil
		}
		first[p.ID] = line
		return nil
	})
	if err != nil {
		return err
	}
	if count == 0 { // a hash collision, no real duplicate
		return nil
	}
	return fmt.Errorf("reward: dataset: %s: %d duplicate ids (%s); ids must be unique within a file", jf.path, count, strings.Join(cases, ", "))
}

// read streams the lines of the file from byte offset off, calling fn with
// each line's 1-based number (counted from firstLine+1), offset and bytes
// (without the newline; valid only during the call). A line longer than
// MaxLineBytes is an error.
func (jf *jsonlFile) read(off int64, fn func(line int, off int64, raw []byte) error) error {
	return jf.readFrom(off, 0, fn)
}

func (jf *jsonlFile) readFrom(off int64, firstLine int, fn func(line int, off int64, raw []byte) error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(jf.f, off, 1<<62), 64<<10)
	line := firstLine
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if len(long) > MaxLineBytes {
				return fmt.Errorf("reward: %s:%d: line longer than %d bytes", jf.path, line+1, MaxLineBytes)
			}
			continue
		}
		raw := chunk
		if long != nil {
			raw = append(long, chunk...)
			long = nil
		}
		if len(raw) > 0 {
			line++
			n := len(raw)
			body := bytes.TrimSuffix(bytes.TrimSuffix(raw, []byte("\n")), []byte("\r"))
			if len(body) > MaxLineBytes {
				return fmt.Errorf("reward: %s:%d: line longer than %d bytes", jf.path, line, MaxLineBytes)
			}
			if ferr := fn(line, off, body); ferr != nil {
				return ferr
			}
			off += int64(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reward: %s:%d: %w", jf.path, line+1, err)
		}
	}
}

// scan parses every line in order.
func (jf *jsonlFile) scan(fn func(line int, p Problem) error) error {
	return jf.read(0, func(line int, _ int64, raw []byte) error {
		p, err := jf.parse(line, raw)
		if err != nil {
			return err
		}
		return fn(line, p)
	})
}

// problem reads line i (0-based) through the index.
func (jf *jsonlFile) problem(i int) (Problem, error) {
	if i < 0 || i >= jf.n {
		return Problem{}, fmt.Errorf("reward: %s: no line %d", jf.path, i+1)
	}
	blk := i / indexStride
	var out Problem
	found := false
	err := jf.readFrom(jf.index[blk], blk*indexStride, func(line int, _ int64, raw []byte) error {
		if line-1 < i {
			return nil
		}
		p, err := jf.parse(line, raw)
		if err != nil {
			return err
		}
		out, found = p, true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return Problem{}, fmt.Errorf("%w (the file changed after it was validated?)", err)
	}
	if !found {
		return Problem{}, fmt.Errorf("reward: %s: line %d is gone (the file changed after it was validated)", jf.path, i+1)
	}
	return out, nil
}

// parse checks one line and builds its problem.
func (jf *jsonlFile) parse(line int, raw []byte) (Problem, error) {
	src := jf.path + ":" + strconv.Itoa(line)
	bad := func(format string, args ...any) (Problem, error) {
		return Problem{}, fmt.Errorf("reward: %s: "+format, append([]any{src}, args...)...)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return bad("empty line (want one JSON object per line)")
	}
	if !utf8.Valid(raw) {
		return bad("not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return bad("not a JSON object: %v", err)
	}
	if fields == nil {
		return bad("not a JSON object: null")
	}
	p := Problem{Task: "dataset", Split: jf.split, Source: src}
	rp, ok := fields["prompt"]
	if !ok {
		return bad(`missing field "prompt"`)
	}
	if err := json.Unmarshal(rp, &p.Prompt); err != nil {
		return bad(`"prompt" must be a string, got %s`, clip(rp))
	}
	if strings.TrimSpace(p.Prompt) == "" {
		return bad(`empty "prompt"`)
	}
	ra, ok := fields["answer"]
	if !ok {
		return bad(`missing field "answer"`)
	}
	var err error
	if p.Answer, err = textOf(ra); err != nil {
		return bad(`"answer" must be a string or a number, got %s`, clip(ra))
	}
	if strings.TrimSpace(p.Answer) == "" {
		return bad(`empty "answer"`)
	}
	if ri, ok := fields["id"]; ok {
		if p.ID, err = textOf(ri); err != nil || p.ID == "" {
			return bad(`"id" must be a non-empty string or a number, got %s`, clip(ri))
		}
	}
	if ro, ok := fields["options"]; ok {
		if err := json.Unmarshal(ro, &p.Options); err != nil {
			return bad(`"options" must be a list of strings, got %s`, clip(ro))
		}
	}
	if err := readNumbers(&p, fields); err != nil {
		return bad("%v", err)
	}
	delete(fields, "prompt")
	delete(fields, "answer")
	delete(fields, "id")
	if len(fields) > 0 {
		p.Extra, _ = json.Marshal(fields)
	}
	return p, nil
}

// textOf reads a JSON string, or a number as its literal text.
func textOf(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return "", err
	}
	return n.String(), nil
}

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "..."
	}
	return string(raw)
}
