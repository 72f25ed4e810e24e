package reward

import (
	"strconv"
	"testing"
)

// checkReward fails unless s is one of the three rewards the weights allow
// and Correct implies Format.
func checkReward(t *testing.T, s Score, completion string) {
	t.Helper()
	ok := (s.Correct && s.Format && s.Reward == 1) ||
		(!s.Correct && s.Format && s.Reward == 0.1) ||
		(!s.Correct && !s.Format && s.Reward == 0)
	if !ok || s.Reward < 0 || s.Reward > 1 {
		t.Fatalf("Score(%q) = %+v: not a reward the default weights give", completion, s)
	}
}

// fuzzNumber checks a number task against the obvious rule: correct exactly
// when the extracted text is the target's decimal form.
func fuzzNumber(f *testing.F, name string, op func(a, b int) int) {
	task := newTask(f, name, nil)
	for _, tc := range numberCases {
		f.Add(tc.completion, 12, 345)
	}
	f.Fuzz(func(t *testing.T, completion string, a, b int) {
		p := Problem{Task: name, Numbers: []int{a, b}, Target: op(a, b)}
		s := task.Score(p, completion)
		checkReward(t, s, completion)
		if want := Extract(completion) == strconv.Itoa(p.Target) && p.Target >= 0; s.Correct != want {
			t.Fatalf("Score(%d, %q).Correct = %v, want %v", p.Target, completion, s.Correct, want)
		}
	})
}

func FuzzScoreAddition(f *testing.F) {
	fuzzNumber(f, "addition", func(a, b int) int { return a + b })
}

func FuzzScoreMultiplication(f *testing.F) {
	fuzzNumber(f, "multiplication", func(a, b int) int { return a * b })
}

// FuzzScoreCountdown scores arbitrary completions against arbitrary
// problems (three numbers, a fourth when n4 >= 0, each folded into 0-999)
// and compares the verdict with slowCountdown.
func FuzzScoreCountdown(f *testing.F) {
	tasks := map[bool]Task{
		false: newTask(f, "countdown", nil),
		true:  newTask(f, "countdown", func(c *Config) { c.Countdown.RequireAll = true }),
	}
	for _, tc := range countdownCases {
		f.Add(tc.completion, 3, 7, 25, -1, 29, false)
	}
	f.Add("6/(2/3)", 2, 3, 6, -1, 9, true)
	f.Add("5+5+3", 5, 5, 3, -1, 13, true)
	f.Add("(99*98-97)/96", 99, 98, 97, 96, 100, true)
	f.Fuzz(func(t *testing.T, completion string, n1, n2, n3, n4, target int, requireAll bool) {
		fold := func(x int) int { return ((x % 1000) + 1000) % 1000 }
		numbers := []int{fold(n1), fold(n2), fold(n3)}
		if n4 >= 0 {
			numbers = append(numbers, fold(n4))
		}
		p := Problem{Task: "countdown", Numbers: numbers, Target: target}
		s := tasks[requireAll].Score(p, completion)
		checkReward(t, s, completion)
		format, correct := slowCountdown(numbers, target, requireAll, completion)
		if s.Format != format || s.Correct != correct {
			t.Fatalf("Score(%v>%d, %q) = %+v, slow version says format=%v correct=%v",
				numbers, target, completion, s, format, correct)
		}
	})
}

// FuzzScoreMalformedProblem hands every task problems no generator makes
// (no numbers, many numbers, negative ones) to show Score still never panics.
func FuzzScoreMalformedProblem(f *testing.F) {
	var tasks []Task
	for _, name := range []string{"addition", "countdown", "multiplication"} {
		tasks = append(tasks, newTask(f, name, nil))
	}
	f.Add("1+2", []byte{}, -5)
	f.Add("(1)", []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1)
	f.Fuzz(func(t *testing.T, completion string, raw []byte, target int) {
		numbers := make([]int, len(raw))
		for i, b := range raw {
			numbers[i] = int(int8(b))
		}
		p := Problem{Numbers: numbers, Target: target}
		for _, task := range tasks {
			checkReward(t, task.Score(p, completion), completion)
		}
	})
}
