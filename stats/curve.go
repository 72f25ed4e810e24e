package stats

import (
	"fmt"
	"math"
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
		if k == n { // every seed finite: no checks in the loop
			col := make([]float64, n)
			for j, c := range curves {
				col[j] = c[t]
			}
			for i := 0; i < r; i++ {
				var s float64
				for _, j := range draws[i*n : (i+1)*n] {
					s += col[j]
				}
				vals = append(vals, s/float64(n))
			}
		} else {
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
		}
		low[t] = percentileSelect(vals, 100*(1-lv)/2)
		high[t] = percentileSelect(vals, 100*(1+lv)/2)
	}
	return mean, low, high, nil
}

// percentileSelect is percentileSorted(sorted v, q) without sorting v: it
// selects the two order statistics the interpolation needs (v is reordered).
func percentileSelect(v []float64, q float64) float64 {
	n := len(v)
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	q = math.Min(100, math.Max(0, q))
	h := (float64(n) - 1) * q / 100
	lo := math.Floor(h)
	i := int(lo)
	a := selectKth(v, i)
	if i >= n-1 {
		return a
	}
	b := v[i+1] // after selectKth, v[i+1:] holds the values >= a: its minimum is the next order statistic
	for _, x := range v[i+2:] {
		if x < b {
			b = x
		}
	}
	return a + (h-lo)*(b-a)
}

// selectKth reorders v so that v[k] is its k-th smallest value, smaller or
// equal values before it and larger or equal after (Hoare's quickselect,
// median-of-three pivots), and returns v[k]. v holds no NaN.
func selectKth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
