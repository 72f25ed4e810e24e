package plots

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/entrolab/entrolab/stats"
)

// benchMetrics is a seeded metrics file of n steps with a dozen keys.
func benchMetrics(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 1))
	var buf bytes.Buffer
	for t := 1; t <= n; t++ {
		fmt.Fprintf(&buf, `{"step": %d, "data": {"actor/entropy": %g, "critic/score/mean": %g, "actor/pg_clipfrac": %g, `+
			`"actor/pg_clipfrac_lower": %g, "response_length/mean": %g, "response_length/min": 10, "response_length/max": 500, `+
			`"entropy/predicted_delta": %g, "entropy/actual_delta": %g, "controller/entropy_coef": %g, "timing_s/step": 0.4}}`+"\n",
			t, 2*rng.Float64(), rng.Float64(), 0.1*rng.Float64(), 0.01*rng.Float64(), 100+100*rng.Float64(),
			rng.NormFloat64(), rng.NormFloat64(), 0.01*rng.Float64())
	}
	return buf.Bytes()
}

func BenchmarkParseMetrics(b *testing.B) {
	for _, n := range []int{1000} {
		data := benchMetrics(n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseMetrics(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	r, err := ParseMetrics(bytes.NewReader(benchMetrics(1000)))
	if err != nil {
		b.Fatal(err)
	}
	r.Label = "bench"
	runs := []*Run{r}
	for _, name := range []string{"entropy", "entropy_vs_reward"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RenderFigure(name, runs, "png"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBandCI is the cost of the figures' 95% bootstrap bands: one
// series of 5 seeds × 600 steps (AggregateCI, 2,000 resamples per step).
func BenchmarkBandCI(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	var ser []*Series
	for s := 0; s < 5; s++ {
		x := &Series{Key: "actor/entropy"}
		for t := 1; t <= 600; t++ {
			x.Steps = append(x.Steps, t)
			x.Values = append(x.Values, rng.Float64())
		}
		ser = append(ser, x)
	}
	b.ReportAllocs()
	for b.Loop() {
		AggregateCI(ser, stats.Bootstrap{Seed: BandSeed})
	}
	b.ReportMetric(float64(b.N*600)/b.Elapsed().Seconds(), "steps/s")
}
