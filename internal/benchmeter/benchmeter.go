// Package benchmeter holds what the project's peer benchmarks report
// besides their rate: the process's peak resident set and the median time
// of a step. Peak RSS is per process (VmHWM), so each benchmark that
// reports it is meant to run in a process of its own (bench/rounds.sh does).
package benchmeter

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PeakRSSMB is the process's peak resident set size (VmHWM of
// /proc/self/status) in MB (2^20 bytes), or 0 where it cannot be read. The
// PyTorch peer (bench/gpt_torch.py) reads the same field.
func PeakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) < 2 {
				return 0
			}
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// Steps records the wall time of each timed iteration of a benchmark.
type Steps []time.Duration

// Time runs f and records how long it took.
func (s *Steps) Time(f func()) {
	t := time.Now()
	f()
	*s = append(*s, time.Since(t))
}

// Median is the median step time (0 with no steps).
func (s Steps) Median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// Report adds the median step as "median_ms/step" and, per step, work/s
// (the median step's rate of work units, e.g. "median_tokens/s"), and the
// peak RSS as "peakRSS_MB".
func (s Steps) Report(b *testing.B, work float64, unit string) {
	if m := s.Median(); m > 0 {
		b.ReportMetric(m.Seconds()*1e3, "median_ms/step")
		if unit != "" {
			b.ReportMetric(work/m.Seconds(), "median_"+unit)
		}
	}
	b.ReportMetric(PeakRSSMB(), "peakRSS_MB")
}
