package reward

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkScore times one completion's verdict per task, for a correct
// answer and a malformed one.
func BenchmarkScore(b *testing.B) {
	cases := []struct {
		name       string
		task       string
		p          Problem
		completion string
	}{
		{"addition/correct", "addition", Problem{Numbers: []int{123, 456}, Target: 579}, "579<eos>"},
		{"addition/wrong", "addition", Problem{Numbers: []int{123, 456}, Target: 579}, "57 9+1"},
		{"multiplication/correct", "multiplication", Problem{Numbers: []int{47, 8}, Target: 376}, "376<eos>"},
		{"countdown/correct", "countdown", Problem{Numbers: []int{3, 7, 25, 91}, Target: 64}, "(91-25)*7/3+7-3<eos>"},
		{"countdown/wrong", "countdown", Problem{Numbers: []int{3, 7, 25, 91}, Target: 64}, "(91-25)*7/(3+7"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			task := newTask(b, tc.task, nil)
			b.ReportAllocs()
			for b.Loop() {
				task.Score(tc.p, tc.completion)
			}
		})
	}
}

// BenchmarkGenerate times one problem per task (train split).
func BenchmarkGenerate(b *testing.B) {
	for _, name := range []string{"addition", "countdown", "multiplication"} {
		b.Run(name, func(b *testing.B) {
			task := newTask(b, name, nil)
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				task.Generate(r, Train)
			}
		})
	}
}

// BenchmarkCommandScore times one request to a trivial Python reward
// command (exact match, as examples/reverse/reward.py without the partial
// credit) for a step's batch: 16 prompts × 8 completions by default, and
// larger batches. It skips without python3.
func BenchmarkCommandScore(b *testing.B) {
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 is not installed")
	}
	dir := b.TempDir()
	script := filepath.Join(dir, "trivial.py")
	os.WriteFile(script, []byte(`import json, sys
for line in sys.stdin:
    req = json.loads(line)
    res = [{"reward": float(c["completion"] == c["answer"]), "correct": c["completion"] == c["answer"]} for c in req["completions"]]
    sys.stdout.write(json.dumps({"results": res}) + "\n")
    sys.stdout.flush()
`), 0o644)
	for _, n := range []int{128, 1024} {
		b.Run(fmt.Sprintf("completions=%d", n), func(b *testing.B) {
			c, err := StartCommand(nil, CommandConfig{Command: []string{py, script}, Timeout: "30s"}, dir)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			probs, comps := make([]Problem, n), make([]string, n)
			for i := range probs {
				probs[i] = Problem{Prompt: "abcde>", Answer: "edcba", ID: strconv.Itoa(i), Source: "train.jsonl:" + strconv.Itoa(i+1), Extra: []byte(`{"length":5}`)}
				comps[i] = "edcab"
			}
			dst := make([]Score, n)
			if err := c.ScoreBatch(dst, probs, comps); err != nil { // untimed: the interpreter's start
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.ScoreBatch(dst, probs, comps); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/batch")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "completions/s")
		})
	}
}
