package plots

import "math"

// Smooth returns a copy of r whose series are trailing rolling means over
// window points (NaN points skipped, a window with no finite point stays
// NaN). Sparse series — evaluation metrics (val/*) and any series with fewer
// than 2*window points — are kept as they are. window <= 1 returns r.
//
// A smoothed series records its window (Series.Window, which the figures
// state in their captions) and keeps the measured values (Series.Raw), which
// the scatter figures and fits use: a fit or a correlation is never computed
// on smoothed points.
func Smooth(r *Run, window int) *Run {
	if window <= 1 {
		return r
	}
	out := *r
	out.Series = make(map[string]*Series, len(r.Series))
	for k, s := range r.Series {
		if len(s.Values) < 2*window || len(k) > 4 && k[:4] == "val/" {
			out.Series[k] = s
			continue
		}
		out.Series[k] = smoothSeries(raw(s), window)
	}
	return &out
}

// smoothSeries is s as a trailing rolling mean over window points.
func smoothSeries(s *Series, window int) *Series {
	ns := &Series{Key: s.Key, Steps: s.Steps, Values: make([]float64, len(s.Values)), Window: window, Raw: s}
	var sum float64
	var n int
	for i, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum += v
			n++
		}
		if j := i - window; j >= 0 {
			if old := s.Values[j]; !math.IsNaN(old) && !math.IsInf(old, 0) {
				sum -= old
				n--
			}
		}
		if n > 0 {
			ns.Values[i] = sum / float64(n)
		} else {
			ns.Values[i] = math.NaN()
		}
	}
	return ns
}

// raw is the measured series behind s (s itself when it is not smoothed).
func raw(s *Series) *Series {
	if s != nil && s.Raw != nil {
		return s.Raw
	}
	return s
}
