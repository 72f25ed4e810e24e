package reward

import (
	"math/rand/v2"
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
