package reward

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// newTask builds a task by name from the default config, edited by mod.
func newTask(t testing.TB, name string, mod func(*Config)) Task {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Name = name
	if mod != nil {
		mod(&cfg)
	}
	task, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	return task
}

// variants are the task configs the property tests sweep: every task's
// default and a few small or unusual settings.
var variants = []struct {
	name string
	task string
	mod  func(*Config)
}{
	{"addition", "addition", nil},
	{"addition_1digit", "addition", func(c *Config) { c.Addition.Digits = 1 }},
	{"addition_2digit", "addition", func(c *Config) { c.Addition.Digits = 2 }},
	{"multiplication", "multiplication", nil},
	{"multiplication_3x2", "multiplication", func(c *Config) { c.Multiplication = MultiplicationConfig{LeftDigits: 3, RightDigits: 2} }},
	{"countdown", "countdown", nil},
	{"countdown_require_all", "countdown", func(c *Config) { c.Countdown.RequireAll = true }},
	{"countdown_2to6", "countdown", func(c *Config) {
		c.Countdown.MinCount, c.Countdown.MaxCount = 2, 6
		c.Countdown.MaxTarget = 1000
	}},
}

func TestGenerateDeterministic(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			task := newTask(t, v.task, v.mod)
			gen := func(seed uint64) []Problem {
				r := rand.New(rand.NewPCG(seed, 7))
				out := make([]Problem, 300)
				for i := range out {
					out[i] = task.Generate(r, Split(i%2))
				}
				return out
			}
			a, b := gen(1), gen(1)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("Generate(seed 1) differs between two runs")
			}
			if c := gen(2); reflect.DeepEqual(a, c) {
				t.Fatalf("Generate(seed 2) = Generate(seed 1)")
			}
		})
	}
}

func TestSplitsDisjoint(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			task := newTask(t, v.task, v.mod)
			r := rand.New(rand.NewPCG(3, 4))
			keys := [2]map[string]bool{{}, {}}
			for _, split := range []Split{Train, HeldOut} {
				for range 4000 {
					p := task.Generate(r, split)
					if p.Split != split {
						t.Fatalf("Generate(%v).Split = %v", split, p.Split)
					}
					if got := SplitOf(p.Key(), 0.1); got != split {
						t.Fatalf("SplitOf(%q) = %v, want %v", p.Key(), got, split)
					}
					keys[split][p.Key()] = true
				}
			}
			for k := range keys[HeldOut] {
				if keys[Train][k] {
					t.Fatalf("problem %q drawn for both splits", k)
				}
			}
			t.Logf("%d distinct train, %d distinct held-out problems", len(keys[Train]), len(keys[HeldOut]))
		})
	}
}

func TestSplitOfFraction(t *testing.T) {
	// About heldOutFraction of all keys are held out.
	held := 0
	const n = 100_000
	for i := range n {
		if SplitOf(problemKey("x", []int{i, i * 7}, i), 0.1) == HeldOut {
			held++
		}
	}
	if frac := float64(held) / n; frac < 0.095 || frac > 0.105 {
		t.Fatalf("held-out share = %v, want 0.1 +- 0.005", frac)
	}
}

func TestKeyIgnoresOperandOrder(t *testing.T) {
	a := Problem{Task: "addition", Numbers: []int{12, 345}, Target: 357}
	b := Problem{Task: "addition", Numbers: []int{345, 12}, Target: 357}
	if a.Key() != b.Key() || a.Key() != "addition:12,345>357" {
		t.Fatalf("Key() = %q and %q, want both addition:12,345>357", a.Key(), b.Key())
	}
}

func TestCanonicalAnswersAreCorrect(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			task := newTask(t, v.task, v.mod)
			r := rand.New(rand.NewPCG(5, 6))
			for i := range 3000 {
				p := task.Generate(r, Split(i%2))
				for _, c := range []string{p.Answer, " " + p.Answer + " ", p.Answer + "<eos>", p.Answer + "<eos><pad><pad>"} {
					if s := task.Score(p, c); !s.Correct || !s.Format || s.Reward != 1 {
						t.Fatalf("Score(%q, %q) = %+v, want correct with reward 1", p.Prompt, c, s)
					}
				}
				if s := task.Score(p, p.Answer+"1"); s.Correct {
					t.Fatalf("Score(%q, %q) = %+v, want wrong", p.Prompt, p.Answer+"1", s)
				}
			}
		})
	}
}

func TestPromptFormats(t *testing.T) {
	cases := []struct {
		name  string
		task  string
		mod   func(*Config)
		check func(p Problem) bool
	}{
		{"addition", "addition", nil, func(p Problem) bool {
			a, b := p.Numbers[0], p.Numbers[1]
			return a >= 100 && a <= 999 && b >= 100 && b <= 999 && p.Target == a+b &&
				p.Prompt == itoa(a)+"+"+itoa(b)+"=" && p.Answer == itoa(a+b)
		}},
		{"multiplication", "multiplication", nil, func(p Problem) bool {
			a, b := p.Numbers[0], p.Numbers[1]
			return a >= 0 && a <= 99 && b >= 0 && b <= 9 && p.Target == a*b &&
				p.Prompt == itoa(a)+"*"+itoa(b)+"=" && p.Answer == itoa(a*b)
		}},
		{"countdown", "countdown", nil, func(p Problem) bool {
			if len(p.Numbers) < 3 || len(p.Numbers) > 4 || p.Target < 1 || p.Target > 100 {
				return false
			}
			var parts []string
			for _, n := range p.Numbers {
				if n < 1 || n > 99 {
					return false
				}
				parts = append(parts, itoa(n))
			}
			return p.Prompt == strings.Join(parts, ",")+">"+itoa(p.Target)+":"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := newTask(t, tc.task, tc.mod)
			r := rand.New(rand.NewPCG(8, 9))
			for i := range 2000 {
				p := task.Generate(r, Split(i%2))
				if p.Task != tc.task || !tc.check(p) {
					t.Fatalf("Generate = %+v, breaks the %s format", p, tc.name)
				}
			}
		})
	}
}

func TestCountdownCanonicalUsesAllNumbers(t *testing.T) {
	task := newTask(t, "countdown", nil)
	r := rand.New(rand.NewPCG(10, 11))
	for range 2000 {
		p := task.Generate(r, Train)
		lits := slices.Sorted(slices.Values(literals(p.Answer)))
		want := slices.Sorted(slices.Values(p.Numbers))
		if !slices.Equal(lits, want) {
			t.Fatalf("answer %q uses %v, want every number of %v", p.Answer, lits, want)
		}
	}
}

func TestRegistry(t *testing.T) {
	builtins := []string{"addition", "countdown", "multiplication"}
	for _, name := range builtins {
		if !slices.Contains(Names(), name) {
			t.Fatalf("Names() = %v, missing %q", Names(), name)
		}
		task := newTask(t, name, nil)
		if task.Name() != name {
			t.Fatalf("New(%s).Name() = %q", name, task.Name())
		}
	}
	if !slices.IsSorted(Names()) {
		t.Fatalf("Names() = %v, not sorted", Names())
	}

	cfg := DefaultConfig()
	cfg.Name = "adition"
	_, err := New(cfg)
	if !errors.Is(err, ErrUnknownName) {
		t.Fatalf("New(adition) error = %v, want ErrUnknownName", err)
	}
	if want := `reward: unknown task "adition" (known: `; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("New(adition) error = %q, want prefix %q", err, want)
	}
	if err := cfg.Validate(); !errors.Is(err, ErrUnknownName) {
		t.Fatalf("Validate(adition) = %v, want ErrUnknownName", err)
	}

	Register("test_constant", func(Config) (Task, error) { return &Addition{}, nil })
	cfg.Name = "test_constant"
	if _, err := New(cfg); err != nil {
		t.Fatalf("New(test_constant) after Register: %v", err)
	}
	for _, name := range []string{"test_constant", "addition", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			Register(name, newAddition)
		}()
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for none
	}{
		{"default", nil, ""},
		{"held_out_zero", func(c *Config) { c.HeldOutFraction = 0 }, "held_out_fraction 0 must be in (0, 1)"},
		{"held_out_one", func(c *Config) { c.HeldOutFraction = 1 }, "held_out_fraction 1 must be in (0, 1)"},
		{"correct_zero", func(c *Config) { c.CorrectReward = 0 }, "correct_reward 0 must be in (0, 1]"},
		{"correct_above_one", func(c *Config) { c.CorrectReward = 1.5 }, "correct_reward 1.5 must be in (0, 1]"},
		{"format_negative", func(c *Config) { c.FormatReward = -0.1 }, "format_reward -0.1 must be in [0, correct_reward 1]"},
		{"format_above_correct", func(c *Config) { c.CorrectReward, c.FormatReward = 0.5, 0.6 }, "format_reward 0.6 must be in [0, correct_reward 0.5]"},
		{"format_zero_ok", func(c *Config) { c.FormatReward = 0 }, ""},
		{"addition_digits_zero", func(c *Config) { c.Name, c.Addition.Digits = "addition", 0 }, "addition.digits 0 must be in [1, 9]"},
		{"addition_digits_ten", func(c *Config) { c.Name, c.Addition.Digits = "addition", 10 }, "addition.digits 10 must be in [1, 9]"},
		{"addition_split_empty", func(c *Config) { c.Name, c.Addition.Digits, c.HeldOutFraction = "addition", 1, 1e-9 }, "leaves a split of its 100 problems empty"},
		{"multiplication_left", func(c *Config) { c.Name, c.Multiplication.LeftDigits = "multiplication", 0 }, "multiplication.left_digits 0 must be in [1, 9]"},
		{"multiplication_right", func(c *Config) { c.Name, c.Multiplication.RightDigits = "multiplication", 12 }, "multiplication.right_digits 12 must be in [1, 9]"},
		{"multiplication_big_ok", func(c *Config) {
			c.Name, c.Multiplication.LeftDigits, c.Multiplication.RightDigits = "multiplication", 9, 9
		}, ""},
		{"countdown_min_count", func(c *Config) { c.Countdown.MinCount = 1 }, "countdown.min_count 1 must be in [2, 6]"},
		{"countdown_max_count", func(c *Config) { c.Countdown.MaxCount = 7 }, "countdown.max_count 7 must be in [min_count 3, 6]"},
		{"countdown_min_number", func(c *Config) { c.Countdown.MinNumber = 0 }, "countdown.min_number 0 must be in [1, 999]"},
		{"countdown_max_number", func(c *Config) { c.Countdown.MaxNumber = 1000 }, "countdown.max_number 1000 must be in [min_number 1, 999]"},
		{"countdown_min_target", func(c *Config) { c.Countdown.MinTarget = 0 }, "countdown.min_target 0 must be in [1, 999999]"},
		{"countdown_max_target", func(c *Config) { c.Countdown.MaxTarget = 0 }, "countdown.max_target 0 must be in [min_target 1, 999999]"},
		{"countdown_unreachable", func(c *Config) {
			c.Countdown.MinTarget, c.Countdown.MaxTarget = 999_000, 999_999
			c.Countdown.MaxNumber = 9
		}, "widen the ranges"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			case err != nil && !strings.HasPrefix(err.Error(), "reward: "):
				t.Fatalf("Validate() = %q, want the reward: prefix", err)
			}
		})
	}
}

func TestSplitString(t *testing.T) {
	if Train.String() != "train" || HeldOut.String() != "held_out" || Split(5).String() != "split(5)" {
		t.Fatalf("Split strings = %q %q %q", Train, HeldOut, Split(5))
	}
}
