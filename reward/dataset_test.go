package reward

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeFile writes lines (joined by newlines, with a final one) to dir/name.
func writeFile(t testing.TB, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func datasetConfig(train, test string) Config {
	c := DefaultConfig()
	c.Name, c.Train, c.Test = "dataset", train, test
	return c
}

func TestDatasetOpen(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.jsonl",
		`{"prompt": "ab>", "answer": "ba", "id": "x1"}`,
		`{"prompt": "abc>", "answer": "cba", "id": 2, "level": 3}`,
		`{"prompt": "q>", "answer": 42}`)
	test := writeFile(t, dir, "test.jsonl", `{"prompt": "cd>", "answer": "dc"}`)
	task, err := New(datasetConfig(train, test))
	if err != nil {
		t.Fatal(err)
	}
	d := task.(*Dataset)
	if got := string(d.Chars()); got != "24>abcq" {
		t.Errorf("Chars() = %q, want %q", got, "24>abcq")
	}
	p, err := d.train.problem(1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Prompt != "abc>" || p.Answer != "cba" || p.ID != "2" || string(p.Extra) != `{"level":3}` || p.Source != train+":2" || p.Split != Train {
		t.Errorf("line 2 = %+v", p)
	}
	if p, _ := d.train.problem(2); p.Answer != "42" {
		t.Errorf("numeric answer read as %q, want 42", p.Answer)
	}
	ho, err := HeldOutSet(d, nil, 10)
	if err != nil || len(ho) != 1 || ho[0].Prompt != "cd>" || ho[0].Split != HeldOut {
		t.Errorf("HeldOutSet = %+v, %v", ho, err)
	}
	if s := d.Score(p, "cba<eos>"); !s.Correct || s.Reward != 1 {
		t.Errorf("Score(right) = %+v", s)
	}
	if s := d.Score(p, "abc"); s.Correct || s.Reward != 0.1 {
		t.Errorf("Score(wrong) = %+v, want format reward 0.1", s)
	}
}

// TestDatasetIndex reads every line of a file spanning many index blocks
// back by number, and checks the index holds one offset per 64 lines.
func TestDatasetIndex(t *testing.T) {
	dir := t.TempDir()
	const n = 1000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"prompt": "p%d%s", "answer": "a%d", "id": %d}`, i, strings.Repeat("x", i%7), i, i)
	}
	train := writeFile(t, dir, "train.jsonl", lines...)
	test := writeFile(t, dir, "test.jsonl", `{"prompt": "t", "answer": "a"}`)
	d, err := OpenDataset(datasetConfig(train, test))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len(Train) != n || len(d.train.index) != (n+indexStride-1)/indexStride {
		t.Fatalf("Len = %d, index %d entries; want %d and %d", d.Len(Train), len(d.train.index), n, (n+indexStride-1)/indexStride)
	}
	for i := n - 1; i >= 0; i -= 7 {
		p, err := d.train.problem(i)
		if err != nil || p.ID != fmt.Sprint(i) || p.Source != fmt.Sprintf("%s:%d", train, i+1) {
			t.Fatalf("problem(%d) = %+v, %v", i, p, err)
		}
	}
	// Generate draws uniformly: every line of a small file comes up.
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 20 * n {
		seen[d.Generate(r, Train).ID] = true
	}
	if len(seen) < n*99/100 {
		t.Errorf("Generate reached %d of %d lines in %d draws", len(seen), n, 20*n)
	}
}

// TestDatasetErrors has one case per kind of bad input; each error names
// the file and line.
func TestDatasetErrors(t *testing.T) {
	good := `{"prompt": "a", "answer": "b"}`
	long := `{"prompt": "` + strings.Repeat("x", MaxLineBytes) + `", "answer": "b"}`
	for _, tc := range []struct {
		name   string
		train  []string
		test   []string
		mutate func(*Config)
		want   string // substring of the error
	}{
		{"not_json", []string{good, `{"prompt": "a", "answer": }`}, []string{good}, nil, "train.jsonl:2: not a JSON object"},
		{"not_object", []string{`["a", "b"]`}, []string{good}, nil, "train.jsonl:1: not a JSON object"},
		{"empty_line", []string{good, ``, good}, []string{good}, nil, "train.jsonl:2: empty line"},
		{"missing_prompt", []string{`{"answer": "b"}`}, []string{good}, nil, `train.jsonl:1: missing field "prompt"`},
		{"missing_answer", []string{good, `{"prompt": "a"}`}, []string{good}, nil, `train.jsonl:2: missing field "answer"`},
		{"empty_prompt", []string{`{"prompt": "  ", "answer": "b"}`}, []string{good}, nil, `train.jsonl:1: empty "prompt"`},
		{"prompt_not_string", []string{`{"prompt": 3, "answer": "b"}`}, []string{good}, nil, `train.jsonl:1: "prompt" must be a string`},
		{"answer_wrong_type", []string{`{"prompt": "a", "answer": [1]}`}, []string{good}, nil, `train.jsonl:1: "answer" must be a string or a number`},
		{"bad_id", []string{`{"prompt": "a", "answer": "b", "id": {}}`}, []string{good}, nil, `train.jsonl:1: "id" must be`},
		{"test_file_line", []string{good}, []string{good, good, `nope`}, nil, "test.jsonl:3: not a JSON object"},
		{"line_too_long", []string{good, long}, []string{good}, nil, fmt.Sprintf("train.jsonl:2: line longer than %d bytes", MaxLineBytes)},
		{"empty_file", []string{}, []string{good}, nil, "has no lines"},
		{"duplicate_ids", []string{`{"prompt": "a", "answer": "b", "id": "k"}`, good, `{"prompt": "c", "answer": "d", "id": "k"}`}, []string{good}, nil,
			`train.jsonl: 1 duplicate ids (id "k" at lines 1 and 3)`},
		{"overlap", []string{`{"prompt": "x", "answer": "1"}`, `{"prompt": "same", "answer": "1"}`}, []string{`{"prompt": "other", "answer": "1"}`, `{"prompt": " same", "answer": "2"}`}, nil,
			`1 test prompts also occur in the training data (` /* paths follow */},
		{"numeric_answer", []string{`{"prompt": "a", "answer": "seven"}`}, []string{good}, func(c *Config) { c.Verifier = "numeric" },
			`train.jsonl:1: answer "seven" is not a number`},
		{"choice_answer", []string{`{"prompt": "a", "answer": "E", "options": ["A", "B"]}`}, []string{good}, func(c *Config) { c.Verifier = "choice" },
			`train.jsonl:1: answer "E" is not one of the options`},
		{"expression_fields", []string{`{"prompt": "a", "answer": "1+2"}`}, []string{good}, func(c *Config) { c.Verifier = "expression" },
			`train.jsonl:1: the expression verifier needs "numbers"`},
		{"expression_numbers_type", []string{`{"prompt": "a", "answer": "1+2", "numbers": "12", "target": 3}`}, []string{good}, func(c *Config) { c.Verifier = "expression" },
			`train.jsonl:1: "numbers" must be a list of integers`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			train := filepath.Join(dir, "train.jsonl")
			if len(tc.train) == 0 {
				os.WriteFile(train, nil, 0o644)
			} else {
				writeFile(t, dir, "train.jsonl", tc.train...)
			}
			test := writeFile(t, dir, "test.jsonl", tc.test...)
			c := datasetConfig(train, test)
			if tc.mutate != nil {
				tc.mutate(&c)
			}
			_, err := New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDatasetOverlapNamesBothLines(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.jsonl", `{"prompt": "x", "answer": "1"}`, `{"prompt": "same", "answer": "1"}`)
	test := writeFile(t, dir, "test.jsonl", `{"prompt": "other", "answer": "1"}`, `{"prompt": "same", "answer": "2"}`)
	_, err := New(datasetConfig(train, test))
	want := fmt.Sprintf("%s:2 = %s:2 %q", test, train, "same")
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "task.allow_overlap") {
		t.Fatalf("error = %v, want it to name %s and task.allow_overlap", err, want)
	}
	c := datasetConfig(train, test)
	c.AllowOverlap = true
	task, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s := task.(*Dataset).Summary(); !strings.Contains(s, "1 test prompts also occur in train") {
		t.Errorf("Summary() = %q, want the overlap reported", s)
	}
}

func TestDatasetConfigKeys(t *testing.T) {
	c := DefaultConfig()
	c.Name, c.Train = "addition", "x.jsonl"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "task.train is read only when task.name is dataset") {
		t.Errorf("Validate(addition with train) = %v", err)
	}
	c = DefaultConfig()
	c.Name, c.Regex.Pattern = "addition", "x"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "task.regex is read only when task.name is dataset") {
		t.Errorf("Validate(addition with regex) = %v", err)
	}
	c = datasetConfig("", "t.jsonl")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "task.train is empty") {
		t.Errorf("Validate(no train) = %v", err)
	}
	dir := t.TempDir()
	f := writeFile(t, dir, "a.jsonl", `{"prompt": "a", "answer": "b"}`)
	c = datasetConfig(f, filepath.Join(dir, "missing.jsonl"))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "task.test") {
		t.Errorf("Validate(missing test) = %v", err)
	}
	for _, m := range []struct {
		f    func(*Config)
		want string
	}{
		{func(c *Config) { c.Verifier = "fuzzy" }, `task.verifier "fuzzy" is not known (known: choice, exact, expression, numeric, regex)`},
		{func(c *Config) { c.Verifier = "regex" }, "task.regex.pattern is empty"},
		{func(c *Config) { c.Verifier, c.Regex.Pattern = "regex", "(" }, "task.regex.pattern"},
		{func(c *Config) { c.Regex.Then = "fuzzy" }, "task.regex.then"},
		{func(c *Config) { c.Numeric.Tolerance = -1 }, "task.numeric.tolerance"},
		{func(c *Config) { c.Choice.Options = []string{" A"} }, "task.choice.options[0]"},
		{func(c *Config) { c.Regex.Pattern = "x" }, "task.regex is set, but task.verifier exact (the default) does not read it"},
		{func(c *Config) { c.Verifier, c.Numeric.Tolerance = "choice", 0.1 }, "task.numeric is set, but task.verifier choice does not read it"},
		{func(c *Config) { c.Expression.RequireAll = true }, "task.expression is set"},
	} {
		c := datasetConfig(f, f)
		m.f(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), m.want) {
			t.Errorf("Validate() = %v, want %q", err, m.want)
		}
	}
}

// FuzzDatasetLine: any line parses or fails with an error naming file:line,
// never a panic.
func FuzzDatasetLine(f *testing.F) {
	f.Add(`{"prompt": "a", "answer": "b", "id": 1, "numbers": [1, 2], "target": 3, "options": ["b"]}`)
	f.Add(`{"prompt": "a", "answer": 1e400}`)
	f.Add(`{"prompt": null, "answer": "b"}`)
	f.Add(`null`)
	f.Add("{\"prompt\": \"\xff\", \"answer\": \"b\"}")
	jf := &jsonlFile{path: "f.jsonl"}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := jf.parse(7, []byte(line))
		if err != nil {
			if !strings.Contains(err.Error(), "f.jsonl:7: ") {
				t.Fatalf("parse(%q) error %q does not name f.jsonl:7", line, err)
			}
			return
		}
		if strings.TrimSpace(p.Prompt) == "" || strings.TrimSpace(p.Answer) == "" || p.Source != "f.jsonl:7" {
			t.Fatalf("parse(%q) = %+v", line, p)
		}
	})
}

// TestDatasetMemoryBounded opens a file of 100,000 lines (7 MB) and
// checks what the open dataset keeps: its offset index (8 bytes per 64
// lines) and the alphabet, not the lines. The file is never read whole.
func TestDatasetMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 7 MB file")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	var size int
	for i := range n {
		k, _ := fmt.Fprintf(f, `{"id": %d, "prompt": "problem number %07d>", "answer": "%07d"}`+"\n", i, i, n-i)
		size += k
	}
	f.Close()
	test := writeFile(t, dir, "test.jsonl", `{"prompt": "held out", "answer": "1"}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := OpenDataset(datasetConfig(filepath.Join(dir, "train.jsonl"), test))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d lines, %d bytes: the open dataset keeps %d bytes of heap (index %d entries)", n, size, kept, len(d.train.index))
	if kept > int64(size)/20 {
		t.Errorf("the open dataset keeps %d bytes of heap for a %d-byte file, want < 5%%", kept, size)
	}
	if p, err := d.train.problem(n - 1); err != nil || p.ID != fmt.Sprint(n-1) {
		t.Errorf("last line = %+v, %v", p, err)
	}
	runtime.KeepAlive(d)
}
