package stats

import (
	"math"
	"slices"
)

// Sample is one group's values of one metric, one per run, with the seed of
// each run (Seeds may be nil when the seeds are unknown: then no pairing).
type Sample struct {
	Values []float64
	Seeds  []uint64
}

// Summary is a group's mean and interquartile mean, each with its interval.
type Summary struct {
	Mean Interval
	IQM  Interval
}

// Summarize is the mean and IQM of s with their percentile intervals.
func (b Bootstrap) Summarize(s Sample) (Summary, error) {
	m, err := b.CI(s.Values, MeanStat)
	if err != nil {
		return Summary{}, err
	}
	q, err := b.CI(s.Values, IQMStat)
	if err != nil {
		return Summary{}, err
	}
	return Summary{Mean: m, IQM: q}, nil
}

// Comparison is a group against a baseline on one metric: the difference of
// means with its interval, whether it was paired by seed, and the probability
// that a run of the group beats a run of the baseline (P(X > Y), ties one half).
type Comparison struct {
	Diff     Interval
	Paired   bool
	PImprove Interval
}

// Differs reports whether the difference's interval excludes zero.
func (c Comparison) Differs() bool { return c.Diff.Excludes(0) }

// Compare compares x against the baseline y. The difference is paired by
// seed when both samples name the same set of distinct seeds, each once;
// otherwise the groups are resampled independently.
func (b Bootstrap) Compare(x, y Sample) (Comparison, error) {
	xv, yv, paired := pairBySeed(x, y)
	d, err := b.Diff(xv, yv, MeanStat, paired)
	if err != nil {
		return Comparison{}, err
	}
	p, err := b.ProbImprovementCI(x.Values, y.Values)
	if err != nil {
		return Comparison{}, err
	}
	return Comparison{Diff: d, Paired: paired, PImprove: p}, nil
}

// pairBySeed orders x and y by seed when they hold the same distinct seeds.
func pairBySeed(x, y Sample) (xv, yv []float64, paired bool) {
	if len(x.Seeds) != len(x.Values) || len(y.Seeds) != len(y.Values) || len(x.Seeds) != len(y.Seeds) || len(x.Seeds) < 2 {
		return x.Values, y.Values, false
	}
	xi, yi := map[uint64]int{}, map[uint64]int{}
	for i, s := range x.Seeds {
		xi[s] = i
	}
	for i, s := range y.Seeds {
		yi[s] = i
	}
	if len(xi) != len(x.Seeds) || len(yi) != len(y.Seeds) {
		return x.Values, y.Values, false
	}
	seeds := make([]uint64, 0, len(xi))
	for s := range xi {
		if _, ok := yi[s]; !ok {
			return x.Values, y.Values, false
		}
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)
	xv, yv = make([]float64, len(seeds)), make([]float64, len(seeds))
	for i, s := range seeds {
		xv[i], yv[i] = x.Values[xi[s]], y.Values[yi[s]]
	}
	return xv, yv, true
}

// Crossings gives the points where curve a − b changes sign on a shared,
// increasing x grid, as the x where the linear interpolation of a − b is
// zero (in log2 x when logX, the way a pass@k-against-k plot is drawn).
// Non-finite points break the curves: no crossing is reported across them.
// Touching zero without changing sign is no crossing.
func Crossings(x, a, b []float64, logX bool) []float64 {
	n := min(len(x), len(a), len(b))
	var out []float64
	prev := -1         // last index with a finite, non-zero difference
	zero := math.NaN() // first x since prev where the difference is exactly zero
	for i := 0; i < n; i++ {
		d := a[i] - b[i]
		if !finite(d) || !finite(x[i]) || (logX && x[i] <= 0) {
			prev, zero = -1, math.NaN()
			continue
		}
		if d == 0 {
			if math.IsNaN(zero) {
				zero = x[i]
			}
			continue
		}
		if prev >= 0 {
			dp := a[prev] - b[prev]
			if (dp < 0) != (d < 0) && !math.IsNaN(zero) {
				out = append(out, zero)
			} else if (dp < 0) != (d < 0) {
				x0, x1 := x[prev], x[i]
				if logX {
					x0, x1 = math.Log2(x0), math.Log2(x1)
				}
				t := dp / (dp - d)
				xc := x0 + t*(x1-x0)
				if logX {
					xc = math.Exp2(xc)
				}
				out = append(out, xc)
			}
		}
		prev, zero = i, math.NaN()
	}
	return out
}
