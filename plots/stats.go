package plots

import (
	"errors"

	"fmt"
	"github.com/entrolab/entrolab/stats"
	"math"
	"sort"
)

// FitEntropyReward fits the entropy–performance relation of Cui et al.
// (2025), "The Entropy Mechanism of Reinforcement Learning for Reasoning
// Language Models" (arXiv:2505.22617, github.com/PRIME-RL/Entropy-Mechanism-of-RL):
//
//	R = −a·exp(H) + b
//
// by least squares. R is linear in x = exp(H), so the fit is the closed-form
// simple regression R = m·x + b with a = −m (centred sums for accuracy):
//
//	m = Σ(x−x̄)(R−R̄) / Σ(x−x̄)²,  b = R̄ − m·x̄,  R² = 1 − Σ(R−R̂)² / Σ(R−R̄)²
//
// Pairs where H, R or exp(H) is not finite are left out. R² is NaN when every
// kept R is the same (Σ(R−R̄)² = 0: the fit is exact but R² is undefined).
// The error is for slices of different lengths, fewer than two finite pairs,
// or a constant H (no slope to fit).
func FitEntropyReward(H, R []float64) (a, b, r2 float64, err error) {
	if len(H) != len(R) {
		return math.NaN(), math.NaN(), math.NaN(), fmt.Errorf("plots: fit: %d entropies but %d rewards", len(H), len(R))
	}
	var xs, ys []float64
	for i := range H {
		x := math.Exp(H[i])
		if isFinite(H[i]) && isFinite(R[i]) && isFinite(x) {
			xs = append(xs, x)
			ys = append(ys, R[i])
		}
	}
	n := float64(len(xs))
	if len(xs) < 2 {
		return math.NaN(), math.NaN(), math.NaN(), fmt.Errorf("plots: fit: %d finite (entropy, reward) pairs, need at least 2", len(xs))
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return math.NaN(), math.NaN(), math.NaN(), errors.New("plots: fit: entropy is constant, the slope is undefined")
	}
	m := sxy / sxx
	b = my - m*mx
	var sse float64
	for i := range xs {
		e := ys[i] - (m*xs[i] + b)
		sse += e * e
	}
	r2 = math.NaN()
	if syy > 0 {
		r2 = 1 - sse/syy
	}
	return -m, b, r2, nil
}

// Pearson is the sample correlation of x and y over the pairs where both are
// finite; NaN when the lengths differ, fewer than two pairs remain, or either
// side is constant.
//
//	r = Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² · Σ(y−ȳ)²)
func Pearson(x, y []float64) float64 {
	if len(x) != len(y) {
		return math.NaN()
	}
	var n, mx, my float64
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			n++
			mx += x[i]
			my += y[i]
		}
	}
	if n < 2 {
		return math.NaN()
	}
	mx /= n
	my /= n
	var sxx, syy, sxy float64
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			dx, dy := x[i]-mx, y[i]-my
			sxx += dx * dx
			syy += dy * dy
			sxy += dx * dy
		}
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Join pairs two series on the steps where both hold a finite value and
// returns the steps and the paired values.
func Join(x, y *Series) (steps []int, xs, ys []float64) {
	if x == nil || y == nil {
		return nil, nil, nil
	}
	for i, st := range x.Steps {
		xv := x.Values[i]
		if !isFinite(xv) {
			continue
		}
		if yv, ok := y.At(st); ok && isFinite(yv) {
			steps = append(steps, st)
			xs = append(xs, xv)
			ys = append(ys, yv)
		}
	}
	return steps, xs, ys
}

// Band is several series of one metric (seeds of one configuration) reduced
// per step. Steps is the union of the inputs' steps; at each step Mean, Min
// and Max are taken over the inputs holding a finite value there, and N
// counts them. A step where none does has N = 0 and NaN statistics (a gap).
type Band struct {
	Steps          []int
	Mean, Min, Max []float64
	N              []int

	// Low and High are the 95% bootstrap confidence interval of the mean
	// over the seeds (AggregateCI only; NaN where fewer than two seeds are
	// finite).
	Low, High []float64
}

// Aggregate reduces series (nil entries, for runs that lack the metric, are
// skipped) to a Band. Seeds that stop early simply drop out of the later
// steps' statistics; N says how many seeds each step averages.
func Aggregate(series []*Series) Band {
	seen := map[int]bool{}
	var steps []int
	for _, s := range series {
		if s == nil {
			continue
		}
		for _, st := range s.Steps {
			if !seen[st] {
				seen[st] = true
				steps = append(steps, st)
			}
		}
	}
	sort.Ints(steps)
	b := Band{
		Steps: steps,
		Mean:  make([]float64, len(steps)),
		Min:   make([]float64, len(steps)),
		Max:   make([]float64, len(steps)),
		N:     make([]int, len(steps)),
	}
	for i, st := range steps {
		sum, lo, hi, n := 0.0, math.Inf(1), math.Inf(-1), 0
		for _, s := range series {
			v, ok := s.At(st)
			if !ok || !isFinite(v) {
				continue
			}
			sum += v
			lo = math.Min(lo, v)
			hi = math.Max(hi, v)
			n++
		}
		if n == 0 {
			b.Mean[i], b.Min[i], b.Max[i] = math.NaN(), math.NaN(), math.NaN()
			continue
		}
		b.Mean[i], b.Min[i], b.Max[i], b.N[i] = sum/float64(n), lo, hi, n
	}
	return b
}

// AggregateCI is Aggregate with the 95% bootstrap interval of the mean at
// each step (b.CurveCI: whole seeds resampled, the same draws at every
// step), the band the figures draw.
func AggregateCI(series []*Series, b stats.Bootstrap) Band {
	band := Aggregate(series)
	var curves [][]float64
	for _, s := range series {
		if s == nil {
			continue
		}
		c := make([]float64, len(band.Steps))
		for i, st := range band.Steps {
			v, ok := s.At(st)
			if !ok {
				v = math.NaN()
			}
			c[i] = v
		}
		curves = append(curves, c)
	}
	_, band.Low, band.High, _ = b.CurveCI(curves) // b is a valid default bootstrap
	if band.Low == nil {
		band.Low, band.High = nanSlice(len(band.Steps)), nanSlice(len(band.Steps))
	}
	return band
}

func nanSlice(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Group is the runs drawn as one entry: one run, or the seeds of one
// configuration.
type Group struct {
	Key  string
	Runs []*Run
	// Name is the config's name followed by the settings that set the
	// group apart from same-named groups ("grpo_addition optim.lr=0.001");
	// "" for runs without a config.yaml.
	Name string
}

// Label is the legend name: "name seed=S" for a group of one, else
// "name (n seeds)"; name is Name, or Key without a config.
func (g Group) Label() string {
	name := g.Name
	if name == "" {
		if len(g.Runs) == 1 {
			return g.Runs[0].Label
		}
		name = g.Key
	}
	if len(g.Runs) == 1 {
		if s := g.Runs[0].Seed; s != "" {
			return name + " seed=" + s
		}
		return name
	}
	return fmt.Sprintf("%s (%d seeds)", name, len(g.Runs))
}

// Series returns each run's series for key (nil where a run lacks it).
func (g Group) Series(key string) []*Series {
	out := make([]*Series, len(g.Runs))
	for i, r := range g.Runs {
		out[i] = r.Get(key)
	}
	return out
}

// GroupRuns groups runs by Run.Group (a run with an empty Group is keyed by
// its Label), in order of first appearance; nil runs are skipped.
func GroupRuns(runs []*Run) []Group {
	var groups []Group
	index := map[string]int{}
	for _, r := range runs {
		if r == nil {
			continue
		}
		key := r.Group
		if key == "" {
			key = r.Label
		}
		if i, ok := index[key]; ok {
			groups[i].Runs = append(groups[i].Runs, r)
			continue
		}
		index[key] = len(groups)
		groups = append(groups, Group{Key: key, Runs: []*Run{r}})
	}
	nameGroups(groups)
	return groups
}
