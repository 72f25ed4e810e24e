package stats

import (
	"fmt"
	"math"
	"slices"
)

// CurveCI is, at each index t of equally long curves (one per seed, NaN
// where a seed has no finite value at t), the mean over the seeds' finite
// values with a percentile bootstrap interval. Whole curves are resampled:
// one draw of seeds per resample serves every t, as resampling runs does
// (Agarwal et al. 2021 resample runs, not points). A resample whose drawn
// seeds are all non-finite at t is left out at t. Where fewer than two seeds
// are finite, the interval is [NaN, NaN] around the mean (NaN with none).
// The same Seed gives the same bands.
func (b Bootstrap) CurveCI(curves [][]float64) (mean, low, high []float64, err error) {
	r, lv, err := b.params()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(curves) == 0 {
		return nil, nil, nil, nil
	}
	T := len(curves[0])
	for i, c := range curves {
		if len(c) != T {
			return nil, nil, nil, fmt.Errorf("stats: curve %d has %d points, curve 0 has %d", i, len(c), T)
		}
	}
	n := len(curves)
	mean, low, high = make([]float64, T), make([]float64, T), make([]float64, T)
	var draws []int // r×n seed indices, drawn once
	vals := make([]float64, 0, r)
	for t := 0; t < T; t++ {
		var s float64
		k := 0
		for _, c := range curves {
			if finite(c[t]) {
				s += c[t]
				k++
			}
		}
		low[t], high[t] = math.NaN(), math.NaN()
		if k == 0 {
			mean[t] = math.NaN()
			continue
		}
		mean[t] = s / float64(k)
		if k < 2 {
			continue
		}
		if draws == nil {
			rng := b.rng(4)
			draws = make([]int, r*n)
			for i := range draws {
				draws[i] = rng.IntN(n)
			}
		}
		vals = vals[:0]
		for i := 0; i < r; i++ {
			var s float64
			m := 0
			for _, j := range draws[i*n : (i+1)*n] {
				if v := curves[j][t]; finite(v) {
					s += v
					m++
				}
			}
			if m > 0 {
				vals = append(vals, s/float64(m))
			}
		}
		slices.Sort(vals)
		low[t] = percentileSorted(vals, 100*(1-lv)/2)
		high[t] = percentileSorted(vals, 100*(1+lv)/2)
	}
	return mean, low, high, nil
}
