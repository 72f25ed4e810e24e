package plots

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/stats"
	"gonum.org/v1/gonum/floats/scalar"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"image/color"
)

// PassCurve is a run's unbiased pass@k against k at one step: every
// val/pass@K recorded at that step, in increasing K.
type PassCurve struct {
	Step int
	K    []int
	Pass []float64
}

// PassCurveAt is the run's pass@k curve at step (nil when fewer than two
// val/pass@K values are recorded there).
func PassCurveAt(r *Run, step int) *PassCurve {
	c := &PassCurve{Step: step}
	for key, s := range r.Series {
		g := passKey.FindStringSubmatch(key)
		if g == nil {
			continue
		}
		k, _ := strconv.Atoi(g[1])
		if v, ok := s.At(step); ok && isFinite(v) {
			c.K = append(c.K, k)
			c.Pass = append(c.Pass, v)
		}
	}
	if len(c.K) < 2 {
		return nil
	}
	idx := make([]int, len(c.K))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return c.K[idx[a]] < c.K[idx[b]] })
	k, p := make([]int, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		k[i], p[i] = c.K[j], c.Pass[j]
	}
	c.K, c.Pass = k, p
	return c
}

// FinalPassCurve is the curve at the last step that has one (the final
// evaluation), nil when no step has one. BasePassCurve is the one at step 0
// (the base policy, evaluated before training).
func FinalPassCurve(r *Run) *PassCurve {
	steps := r.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i] == 0 {
			break
		}
		if c := PassCurveAt(r, steps[i]); c != nil {
			return c
		}
	}
	return nil
}

// BasePassCurve is the run's pass@k curve at step 0, nil without one.
func BasePassCurve(r *Run) *PassCurve { return PassCurveAt(r, 0) }

// GroupCurve is a group's pass@k curve: at each k shared by all its runs'
// curves, the mean over seeds with a 95% bootstrap interval (NaN bounds for
// one run).
type GroupCurve struct {
	K               []int
	Mean, Low, High []float64
	Runs            int
}

// groupCurve averages the curves (nil ones skipped) over the ks they share.
func groupCurve(curves []*PassCurve) *GroupCurve {
	var cs []*PassCurve
	for _, c := range curves {
		if c != nil {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return nil
	}
	ks := slices.Clone(cs[0].K)
	for _, c := range cs[1:] {
		ks = slices.DeleteFunc(ks, func(k int) bool { return !slices.Contains(c.K, k) })
	}
	if len(ks) < 2 {
		return nil
	}
	g := &GroupCurve{K: ks, Runs: len(cs)}
	vals := make([][]float64, len(cs))
	for i, c := range cs {
		for _, k := range ks {
			vals[i] = append(vals[i], c.Pass[slices.Index(c.K, k)])
		}
	}
	// whole runs resampled, as every band of the figures
	g.Mean, g.Low, g.High, _ = stats.Bootstrap{Seed: BandSeed}.CurveCI(vals)
	return g
}

// PassCurves gives each group's final curve and the base curve. The base is
// one curve when every run's step-0 curve is the same (one base policy,
// evaluated with the same seed), else each group's own (bases[i]).
func PassCurves(groups []Group) (final []*GroupCurve, base *GroupCurve, bases []*GroupCurve) {
	var all []*PassCurve
	same := true
	for _, g := range groups {
		var fs, bs []*PassCurve
		for _, r := range g.Runs {
			fs = append(fs, FinalPassCurve(r))
			bc := BasePassCurve(r)
			bs = append(bs, bc)
			if bc != nil {
				if len(all) > 0 && !sameCurve(all[0], bc) {
					same = false
				}
				all = append(all, bc)
			}
		}
		final = append(final, groupCurve(fs))
		bases = append(bases, groupCurve(bs))
	}
	if len(all) > 0 && same {
		return final, groupCurve(all[:1]), nil
	}
	// groups that ran the same seeds from one base evaluate it alike: one
	// base curve (with its band over those seeds), not one per group
	var first *GroupCurve
	alike := true
	for _, b := range bases {
		if b == nil {
			continue
		}
		if first == nil {
			first = b
			continue
		}
		alike = alike && sameGroupCurve(first, b)
	}
	if first != nil && alike {
		return final, first, nil
	}
	return final, nil, bases
}

func sameGroupCurve(a, b *GroupCurve) bool {
	if a.Runs != b.Runs || !slices.Equal(a.K, b.K) {
		return false
	}
	for i := range a.Mean {
		if !scalar.EqualWithinAbs(a.Mean[i], b.Mean[i], 1e-12) {
			return false
		}
	}
	return true
}

func sameCurve(a, b *PassCurve) bool {
	if !slices.Equal(a.K, b.K) {
		return false
	}
	for i := range a.Pass {
		if !scalar.EqualWithinAbs(a.Pass[i], b.Pass[i], 1e-12) {
			return false
		}
	}
	return true
}

// buildPassAtK draws pass@k against k (log₂ axis) for the base policy and
// each group's final policy, seeds as the mean with a 95% bootstrap band.
// Where a group's curve crosses the base's, the legend says at which k.
func buildPassAtK(c *figCtx) []*panel {
	groups := c.groups
	final, base, bases := PassCurves(groups)
	pn := newPanel("held-out pass@k of the final policy vs the base", axisK, axis(metric.ValPassAt+"1"))
	pn.p.X.Tick.Marker = log2Ticks{}
	if base != nil {
		gray := draw.LineStyle{Color: color.Gray{Y: 80}, Width: vg.Points(2), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
		name := "base policy (step 0)"
		if base.Runs > 1 {
			name = fmt.Sprintf("base policy (step 0, %d evaluation seeds)", base.Runs)
		}
		pn.addCurve(base, gray, name)
	}
	for i, g := range groups {
		ls := c.pal.style(g, false)
		if bases != nil && bases[i] != nil {
			d := c.pal.style(g, true)
			pn.addCurve(bases[i], d, g.Label()+": base (step 0)")
		}
		if final[i] == nil {
			continue
		}
		name := g.Label() + ": final"
		ref := base
		if bases != nil {
			ref = bases[i]
		}
		if ref != nil {
			if x := curveCrossings(final[i], ref); len(x) > 0 {
				name += ", crosses the base at k ≈ " + joinK(x)
			}
		}
		pn.addCurve(final[i], ls, name)
	}
	return keep(pn)
}

func (pn *panel) addCurve(c *GroupCurve, ls draw.LineStyle, name string) {
	x := make([]float64, len(c.K))
	for i, k := range c.K {
		x[i] = math.Log2(float64(k))
	}
	band := false
	if c.Runs > 1 {
		band = pn.addBand(x, c.Low, c.High, fade(ls.Color))
	}
	pn.banded = pn.banded || band
	if pn.addLine(x, c.Mean, ls) {
		if band {
			pn.addEntry(name, bandThumb{fill: fade(ls.Color), line: ls})
		} else {
			pn.addEntry(name, lineThumb(ls))
		}
	}
}

// curveCrossings are the k where a's mean curve crosses b's, on their shared ks.
func curveCrossings(a, b *GroupCurve) []float64 {
	var x, ya, yb []float64
	for i, k := range a.K {
		if j := slices.Index(b.K, k); j >= 0 {
			x = append(x, float64(k))
			ya = append(ya, a.Mean[i])
			yb = append(yb, b.Mean[j])
		}
	}
	return stats.Crossings(x, ya, yb, true)
}

func joinK(x []float64) string {
	s := ""
	for i, v := range x {
		if i > 0 {
			s += ", "
		}
		s += strconv.FormatFloat(v, 'g', 3, 64)
	}
	return s
}

// log2Ticks labels an axis holding log₂ k with k = 1, 2, 4, ….
type log2Ticks struct{}

func (log2Ticks) Ticks(lo, hi float64) []plot.Tick {
	var t []plot.Tick
	for e := math.Ceil(lo - 1e-9); e <= hi+1e-9; e++ {
		t = append(t, plot.Tick{Value: e, Label: strconv.FormatFloat(math.Exp2(e), 'f', -1, 64)})
	}
	return t
}

// PassCurveFindings says in words, per group with a final curve, how its
// pass@k compares with the base's at the smallest and largest shared k and
// at which k the curves cross ("does RL narrow the reasoning boundary").
func PassCurveFindings(groups []Group) []string {
	final, base, bases := PassCurves(groups)
	var out []string
	for i, g := range groups {
		ref := base
		if bases != nil {
			ref = bases[i]
		}
		f := final[i]
		if f == nil || ref == nil {
			continue
		}
		lo, hi := f.K[0], f.K[len(f.K)-1]
		line := g.Label() + ": pass@" + strconv.Itoa(lo) + " " + fmtStat(f.Mean[0]) + " vs base " + fmtStat(valueAt(ref, lo)) +
			", pass@" + strconv.Itoa(hi) + " " + fmtStat(f.Mean[len(f.Mean)-1]) + " vs base " + fmtStat(valueAt(ref, hi))
		if x := curveCrossings(f, ref); len(x) > 0 {
			line += "; the curves cross at k ≈ " + joinK(x)
		} else {
			line += "; the curves do not cross"
		}
		out = append(out, line)
	}
	return out
}

func valueAt(c *GroupCurve, k int) float64 {
	if j := slices.Index(c.K, k); j >= 0 {
		return c.Mean[j]
	}
	return math.NaN()
}
