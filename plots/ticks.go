package plots

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// niceTicks marks about n labelled ticks at 1, 2, 2.5 or 5 × 10^k spacing,
// with unlabelled minor ticks between them (gonum's default asks for three
// labels, too few to read values off a training curve). integer keeps the
// spacing at 1 or more, for step axes.
type niceTicks struct {
	n       int
	integer bool
}

var _ plot.Ticker = niceTicks{}

// Ticks returns the ticks in [lo, hi]; none for an empty or non-finite range.
func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !isFinite(lo) || !isFinite(hi) {
		return nil
	}
	raw := (hi - lo) / float64(max(t.n-1, 1))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	var minorDiv float64
	for _, m := range []struct{ f, div float64 }{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}, {10, 5}} {
		if t.integer && m.f == 2.5 {
			continue // 2.5 × 10^k puts labels between steps
		}
		if m.f*mag >= raw*(1-1e-9) {
			step, minorDiv = m.f*mag, m.div
			break
		}
	}
	if t.integer && step < 1 {
		step, minorDiv = 1, 1
	}
	first := math.Ceil(lo/step-1e-9) * step
	if !isFinite(first) || (hi-first)/step > 1000 {
		return nil
	}
	var ticks []plot.Tick
	for k := 0; ; k++ {
		v := first + float64(k)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0" or 1e-17 labels
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: tickLabel(v, step)})
	}
	if minor := step / minorDiv; minorDiv > 1 {
		for v := first - step; v <= hi; v += minor {
			if v >= lo && math.Abs(math.Remainder(v-first, step)) > minor/2 {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// tickLabel formats v with as many decimals as the spacing needs.
func tickLabel(v, step float64) string {
	if v != 0 && (math.Abs(v) >= 1e6 || math.Abs(step) < 1e-4) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	dec := 0
	for s := step; dec < 10 && math.Abs(s-math.Round(s)) > 1e-9*math.Max(1, math.Abs(s)); s *= 10 {
		dec++
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}
