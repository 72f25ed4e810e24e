// Package fuzzcount tallies what fuzz targets saw, for the README's
// reliability counts: with ENTROLAB_FUZZ_COUNTS=FILE set, every input a fuzz
// target runs appends one letter to FILE: 'e' for a clean error, 'a' for an
// accepted input (checked by the target; a wrong one fails the target).
// Crashes and hangs are the fuzzer's own failures (a hang: an input running
// longer than HangAfter fails the target).
package fuzzcount

import (
	"os"
	"time"
)

// HangAfter is how long one input may run before the target calls it a hang.
const HangAfter = 10 * time.Second

// Record appends the outcome of one input when counting is on.
func Record(accepted bool) {
	p := os.Getenv("ENTROLAB_FUZZ_COUNTS")
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	c := "e"
	if accepted {
		c = "a"
	}
	f.WriteString(c)
	f.Close()
}

// Timer fails with fail() when the input has run longer than HangAfter.
func Timer(fail func(format string, args ...any)) func() {
	t0 := time.Now()
	return func() {
		if d := time.Since(t0); d > HangAfter {
			fail("input ran %v (> %v): a hang", d, HangAfter)
		}
	}
}
