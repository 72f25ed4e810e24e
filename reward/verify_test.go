package reward

import (
	"encoding/json"
	"testing"
)

// TestVerifiers checks each built-in verifier on hand-made completions:
// correct (reward 1), well formed but wrong (format reward 0.1) or neither (0).
func TestVerifiers(t *testing.T) {
	nums := func(p Problem, n []int, target int) Problem {
		p.Numbers, p.Target, p.hasNumbers = n, target, true
		return p
	}
	for _, tc := range []struct {
		name       string
		cfg        func(*Config)
		p          Problem
		completion string
		correct    bool
		format     bool
	}{
		{"exact/right", nil, Problem{Answer: "cab"}, "cab", true, true},
		{"exact/trimmed", nil, Problem{Answer: " cab "}, "  cab<eos>zz", true, true},
		{"exact/wrong", nil, Problem{Answer: "cab"}, "cba", false, true},
		{"exact/case", nil, Problem{Answer: "cab"}, "CAB", false, true},
		{"exact/empty", nil, Problem{Answer: "cab"}, " <eos>cab", false, false},

		{"numeric/equal", num(0, 0), Problem{Answer: "1.5"}, "1.50", true, true},
		{"numeric/exponent", num(0, 0), Problem{Answer: "1500"}, "1.5e3", true, true},
		{"numeric/abs_tol", num(0.01, 0), Problem{Answer: "3.14159"}, "3.14", true, true},
		{"numeric/outside_tol", num(0.001, 0), Problem{Answer: "3.14159"}, "3.14", false, true},
		{"numeric/rel_tol", num(0, 0.01), Problem{Answer: "1000"}, "1009", true, true},
		{"numeric/not_number", num(0, 0), Problem{Answer: "2"}, "two", false, false},
		{"numeric/inf", num(0, 0), Problem{Answer: "2"}, "inf", false, false},
		{"numeric/nan", num(0, 0), Problem{Answer: "2"}, "NaN", false, false},
		{"numeric/hex", num(0, 0), Problem{Answer: "16"}, "0x10", false, false},
		{"numeric/overflow", num(0, 0), Problem{Answer: "2"}, "1e999", false, false},

		{"choice/config_right", choice(false, "A", "B", "C"), Problem{Answer: "B"}, "B", true, true},
		{"choice/config_wrong", choice(false, "A", "B", "C"), Problem{Answer: "B"}, "C", false, true},
		{"choice/not_option", choice(false, "A", "B", "C"), Problem{Answer: "B"}, "D", false, false},
		{"choice/case", choice(true, "A", "B"), Problem{Answer: "B"}, "b", true, true},
		{"choice/case_sensitive", choice(false, "A", "B"), Problem{Answer: "B"}, "b", false, false},
		{"choice/line_options", choice(false), Problem{Answer: "yes", Options: []string{"yes", "no"}}, "no", false, true},

		{"regex/group", regex(`answer: (\S+)`, ""), Problem{Answer: "42"}, "so the answer: 42 ok", true, true},
		{"regex/named", regex(`(x)?=(?P<answer>\d+)`, ""), Problem{Answer: "7"}, "=7", true, true},
		{"regex/whole", regex(`\d+`, ""), Problem{Answer: "7"}, "it is 7 or 8", true, true},
		{"regex/no_match", regex(`answer: (\S+)`, ""), Problem{Answer: "42"}, "42", false, false},
		{"regex/numeric", regex(`= *(\S+)`, "numeric"), Problem{Answer: "0.5"}, "x = .50", true, true},
		{"regex/numeric_wrong", regex(`= *(\S+)`, "numeric"), Problem{Answer: "0.5"}, "x = half", false, true},
		{"regex/optional_group_unmatched", regex(`a(b)?`, ""), Problem{Answer: "b"}, "a", false, false},

		{"expression/right", expr(false), nums(Problem{}, []int{3, 7, 25}, 29), "25+7-3", true, true},
		{"expression/fraction", expr(false), nums(Problem{}, []int{1, 2, 3}, 3), "(1/2)*(3+3)", false, true},
		{"expression/exact_fraction", expr(false), nums(Problem{}, []int{2, 3, 6}, 9), "6/2*3", true, true},
		{"expression/reuse", expr(false), nums(Problem{}, []int{3, 7}, 6), "3+3", false, true},
		{"expression/require_all", expr(true), nums(Problem{}, []int{3, 7, 25}, 32), "25+7", false, true},
		{"expression/require_all_ok", expr(true), nums(Problem{}, []int{3, 7, 25}, 29), "7-3+25", true, true},
		{"expression/garbage", expr(false), nums(Problem{}, []int{3, 7}, 10), "3+7=10", false, false},
		{"expression/div0", expr(false), nums(Problem{}, []int{3, 0}, 3), "3/0", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Name = "dataset"
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			if err := c.validateVerifier(); err != nil {
				t.Fatal(err)
			}
			v, err := newVerifier(c)
			if err != nil {
				t.Fatal(err)
			}
			d := &Dataset{w: c.weights(), v: v}
			s := d.Score(tc.p, tc.completion)
			want := 0.0
			switch {
			case tc.correct:
				want = 1
			case tc.format:
				want = 0.1
			}
			if s.Correct != tc.correct || s.Format != tc.format || s.Reward != want {
				t.Errorf("Score(%q) = %+v, want correct %v format %v reward %v", tc.completion, s, tc.correct, tc.format, want)
			}
		})
	}
}

func num(tol, rel float64) func(*Config) {
	return func(c *Config) { c.Verifier, c.Numeric = "numeric", NumericConfig{Tolerance: tol, Relative: rel} }
}

func choice(ignoreCase bool, opts ...string) func(*Config) {
	return func(c *Config) { c.Verifier, c.Choice = "choice", ChoiceConfig{Options: opts, IgnoreCase: ignoreCase} }
}

func regex(pattern, then string) func(*Config) {
	return func(c *Config) { c.Verifier, c.Regex = "regex", RegexConfig{Pattern: pattern, Then: then} }
}

func expr(all bool) func(*Config) {
	return func(c *Config) { c.Verifier, c.Expression = "expression", ExpressionConfig{RequireAll: all} }
}

// FuzzVerifiers: no verifier panics on any completion or answer, the
// reward is one of 0, format_reward, correct_reward, and correct implies
// well formed. The exact verifier accepts its own answer.
func FuzzVerifiers(f *testing.F) {
	f.Add("cab", "cab", 3, 29)
	f.Add("1.5e3", "1500", 25, 7)
	f.Add("answer: 42<eos>", "42", 0, 0)
	f.Add("((((3+7", "B", 1, 2)
	f.Add("25+7-3", "25+7-3", 25, 29)
	f.Add("\xff\x00", "\u00e9", -1, -5)
	cfgs := []func(*Config){nil, num(0.01, 0.001), choice(true, "A", "B"), regex(`answer: *(\S+)`, "numeric"), regex(`(\w+)`, ""), expr(false), expr(true)}
	f.Fuzz(func(t *testing.T, completion, answer string, n, target int) {
		for _, cf := range cfgs {
			c := DefaultConfig()
			c.Name = "dataset"
			if cf != nil {
				cf(&c)
			}
			v, err := newVerifier(c)
			if err != nil {
				t.Fatal(err)
			}
			d := &Dataset{w: c.weights(), v: v}
			p := Problem{Answer: answer, Numbers: []int{n, 3, 7}, Target: target, hasNumbers: true, Options: []string{answer}}
			s := d.Score(p, completion)
			if s.Reward != 0 && s.Reward != c.FormatReward && s.Reward != c.CorrectReward {
				t.Fatalf("%s: Score(%q, %q) reward %v", c.Verifier, completion, answer, s.Reward)
			}
			if s.Correct && !s.Format {
				t.Fatalf("%s: Score(%q, %q) correct but not well formed", c.Verifier, completion, answer)
			}
		}
		c := DefaultConfig()
		v, _ := newVerifier(c)
		if Extract(answer) != "" && Extract(answer) == answer {
			if s := (&Dataset{w: c.weights(), v: v}).Score(Problem{Answer: answer}, answer); !s.Correct {
				t.Fatalf("exact: own answer %q scored %+v", answer, s)
			}
		}
	})
}

// TestExpressionDataset runs the expression verifier from a JSONL line's
// "numbers" and "target" (countdown on any data).
func TestExpressionDataset(t *testing.T) {
	dir := t.TempDir()
	train := writeFile(t, dir, "train.jsonl", `{"prompt": "3,7,25>29:", "answer": "25+7-3", "numbers": [3, 7, 25], "target": 29}`)
	c := datasetConfig(train, train)
	c.Verifier, c.AllowOverlap = "expression", true
	task, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := task.(*Dataset).HeldOut(1)
	var extra map[string]any
	if err := json.Unmarshal(p[0].Extra, &extra); err != nil || extra["target"] != 29.0 {
		t.Errorf("Extra = %s (%v), want numbers and target passed through", p[0].Extra, err)
	}
	for c, want := range map[string]bool{"(25-3)+7": true, "25+3": false} {
		if got := task.Score(p[0], c).Correct; got != want {
			t.Errorf("Score(%q).Correct = %v, want %v", c, got, want)
		}
	}
}
