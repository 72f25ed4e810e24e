package plots

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/metric"
	"github.com/entrolab/entrolab/stats"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrNoData is returned (wrapped) by RenderFigure when none of the figure's
// series holds a finite value; WriteAll skips such figures silently.
var ErrNoData = errors.New("no data")

// ErrUnknownName is returned (wrapped) for an unknown figure name or output
// format; the message names the bad value and the known ones.
var ErrUnknownName = errors.New("unknown")

// DefaultFormat is the output format when none is given.
const DefaultFormat = "png"

var knownFormats = []string{"pdf", "png", "svg"}

// Metric keys the figures read, spelled as in the metrics file.
const (
	KeyEntropy         = "actor/entropy"
	KeyReward          = "critic/score/mean"
	KeyValAccuracy     = "val/accuracy"
	KeyAccuracy        = "critic/accuracy"
	KeyPredictedDelta  = "entropy/predicted_delta"
	KeyActualDelta     = "entropy/actual_delta"
	KeyClipfrac        = "actor/pg_clipfrac"
	KeyClipfracLower   = "actor/pg_clipfrac_lower"
	KeyRespLenMean     = "response_length/mean"
	KeyRespLenMin      = "response_length/min"
	KeyRespLenMax      = "response_length/max"
	KeyStepTime        = "timing_s/step"
	ControllerPrefix   = "controller/"
	entropyRewardTitle = "R = −a·exp(H) + b"
)

// figure is one output file: a name and a builder returning its panels
// (top to bottom), only those with data.
type figure struct {
	name  string
	build func(c *figCtx) []*panel
}

// figCtx is what every figure of one set of runs shares: the groups, one
// colour per group (the same in every figure) and the bootstrap of the bands.
type figCtx struct {
	groups []Group
	pal    palette
	boot   stats.Bootstrap
}

func newFigCtx(groups []Group) *figCtx {
	return &figCtx{groups: groups, pal: newPalette(groups), boot: stats.Bootstrap{Seed: BandSeed}}
}

// BandSeed seeds the bootstrap of every confidence band, so a figure is
// reproducible byte for byte.
const BandSeed = 1

// figures lists every figure once, in the order WriteAll writes them.
var figures = []figure{
	{"entropy", buildEntropy},
	{"reward", buildReward},
	{"entropy_vs_reward", buildEntropyVsReward},
	{"entropy_delta", buildEntropyDelta},
	{"clipfrac", buildClipfrac},
	{"response_length", buildResponseLength},
	{"controllers", buildControllers},
	{"pass_at_k", buildPassAtK},
}

// FigureNames lists the figures WriteAll can write, in the order it writes
// them; each becomes NAME.FORMAT:
//
//	entropy            actor/entropy vs step
//	reward             critic/score/mean, critic/accuracy and val/accuracy vs step
//	                   (three panels)
//	entropy_vs_reward  critic/score/mean vs actor/entropy, one point per step
//	                   coloured by step (a colour bar), with the fit
//	                   R = −a·exp(H) + b; one panel per group, after a panel
//	                   of every group's fitted curve when there are several
//	entropy_delta      entropy/actual_delta (solid) and entropy/predicted_delta
//	                   (dashed) as rolling means; their rolling Pearson r; actual
//	                   vs predicted with y = x and the overall r (three panels)
//	clipfrac           actor/pg_clipfrac (solid) and actor/pg_clipfrac_lower (dashed)
//	response_length    response_length/mean, one run with its min–max band
//	controllers        one panel per controller/* key
//	pass_at_k          val/pass@k against k (log₂ axis) of the base (step 0) and
//	                   each group's final policy
//
// Several seeds of one group are drawn as their mean with a filled 95%
// bootstrap confidence band (whole runs resampled, BandSeed), lines on top.
// Axis labels are the metric table's (metric.Axis); a figure's subtitle says
// what its bands are and how its lines are smoothed.
func FigureNames() []string {
	names := make([]string, len(figures))
	for i, f := range figures {
		names[i] = f.name
	}
	return names
}

// normalizeFormat lower-cases format, drops a leading dot and maps "" to
// DefaultFormat.
func normalizeFormat(format string) (string, error) {
	f := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(format), "."))
	if f == "" {
		return DefaultFormat, nil
	}
	for _, k := range knownFormats {
		if f == k {
			return f, nil
		}
	}
	return "", fmt.Errorf("plots: %w format %q (known: %s)", ErrUnknownName, format, strings.Join(knownFormats, ", "))
}

// RenderFigure draws the named figure for runs (overlaid; seeds of one group
// as mean with a 95% bootstrap band, see GroupRuns) and returns the encoded file.
// format is png (the default for ""), svg or pdf. PNG and SVG output is
// byte-for-byte deterministic; PDF embeds its creation time. It fails with
// ErrNoData when the figure has nothing to draw and ErrUnknownName for an
// unknown figure or format. A panic inside gonum/plot is returned as an error.
func RenderFigure(name string, runs []*Run, format string) ([]byte, error) {
	f, err := normalizeFormat(format)
	if err != nil {
		return nil, err
	}
	for _, fig := range figures {
		if fig.name == name {
			return renderFigure(fig, newFigCtx(GroupRuns(runs)), f)
		}
	}
	return nil, fmt.Errorf("plots: %w figure %q (known: %s)", ErrUnknownName, name, strings.Join(FigureNames(), ", "))
}

func renderFigure(fig figure, c *figCtx, format string) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("plots: render %s: panic: %v", fig.name, p)
		}
	}()
	panels := fig.build(c)
	if len(panels) == 0 {
		return nil, fmt.Errorf("plots: %s: %w", fig.name, ErrNoData)
	}
	b, err := render(panels, format)
	if err != nil {
		return nil, fmt.Errorf("plots: render %s: %w", fig.name, err)
	}
	return b, nil
}

// WriteAll writes every figure that has data into outDir (created if
// needed) as NAME.FORMAT and returns the paths written, in FigureNames order.
// Figures whose series are all missing are skipped without error; runs with
// no lines are fine. Each file is rendered in memory first and then written
// to a temporary file that is renamed into place, so a failure never leaves
// an empty or partial figure. An unknown format is an error before anything
// is written.
func WriteAll(outDir string, runs []*Run, format string) ([]string, error) {
	f, err := normalizeFormat(format)
	if err != nil {
		return nil, err
	}
	c := newFigCtx(GroupRuns(runs))
	var written []string
	for _, fig := range figures {
		b, err := renderFigure(fig, c, f)
		if errors.Is(err, ErrNoData) {
			continue
		}
		if err != nil {
			return written, err
		}
		if len(written) == 0 {
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return nil, fmt.Errorf("plots: %w", err)
			}
		}
		path := filepath.Join(outDir, fig.name+"."+f)
		if err := writeFileAtomic(path, b); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so readers see the old file or the whole new one.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("plots: write %s: %w", path, err)
	}
	return nil
}

// ---- figure builders ----

// Axis labels that name no metric: the x axes, and the derived rolling r.
const (
	axisStep     = "step"
	axisK        = "k (samples per problem, log scale)"
	axisRollingR = "rolling Pearson r"
)

// axis is a metric's axis label from the metric table (the key with its
// unit for a key the table lacks a label for).
func axis(key string) string {
	if a, ok := metric.Axis(key); ok {
		return a
	}
	return metric.Label(key)
}

func buildEntropy(c *figCtx) []*panel {
	pn := newPanel("policy entropy vs step", axisStep, axis(KeyEntropy))
	for _, g := range c.groups {
		c.addGroup(pn, g, KeyEntropy, false, seriesName(c.groups, g, ""))
	}
	return keep(pn)
}

func buildReward(c *figCtx) []*panel {
	reward := newPanel("training reward vs step", axisStep, axis(KeyReward))
	acc := newPanel("training accuracy vs step (samples the verifier marked correct)", axisStep, axis(KeyAccuracy))
	val := newPanel("held-out greedy accuracy vs step", axisStep, axis(KeyValAccuracy))
	val.marks = true // evaluated every few steps only
	for _, g := range c.groups {
		name := seriesName(c.groups, g, "")
		c.addGroup(reward, g, KeyReward, false, name)
		c.addGroup(acc, g, KeyAccuracy, false, name)
		c.addGroup(val, g, KeyValAccuracy, false, name)
	}
	return keep(reward, acc, val)
}

// buildEntropyVsReward draws, per group, one point per step (the raw
// series, never smoothed: the fit is on what was measured) coloured by its
// step on one scale shared by every panel, and the fitted curve
// R = −a·exp(H) + b in the group's colour. Panels share their axis ranges.
func buildEntropyVsReward(c *figCtx) []*panel {
	type pts struct {
		g          Group
		hs, rs, st []float64
	}
	var all []pts
	maxStep := 0.0
	for _, g := range c.groups {
		var p pts
		p.g = g
		for _, r := range g.Runs { // seeds of one configuration share a fit
			steps, h, rw := Join(raw(r.Get(KeyEntropy)), raw(r.Get(KeyReward)))
			p.hs = append(p.hs, h...)
			p.rs = append(p.rs, rw...)
			for _, s := range steps {
				p.st = append(p.st, float64(s))
				maxStep = math.Max(maxStep, float64(s))
			}
		}
		if len(p.hs) > 0 {
			all = append(all, p)
		}
	}
	if len(all) == 0 {
		return nil
	}
	scale := &stepScale{min: 0, max: maxStep}
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	var panels []*panel
	// several series: first their fitted curves together, each over the
	// entropies it was fitted on, to compare at a glance
	var overlay *panel
	if len(all) > 1 {
		overlay = newPanel("fitted "+entropyRewardTitle+" of every series", axis(KeyEntropy), axis(KeyReward))
		overlay.notes = append(overlay.notes, "each curve over the entropies its series reached; the points are in the panels below")
	}
	for _, p := range all {
		title := "training reward vs entropy"
		if len(c.groups) > 1 || len(p.g.Runs) > 1 {
			title += ": " + p.g.Label()
		}
		pn := newPanel(title, axis(KeyEntropy), axis(KeyReward))
		what := "one point per step (raw)"
		if len(p.g.Runs) > 1 {
			what = fmt.Sprintf("one point per step and seed (raw, %d seeds, one fit)", len(p.g.Runs))
		}
		pn.notes = append(pn.notes, what+", coloured by step; line: least-squares fit "+entropyRewardTitle)
		pn.addColoredScatter(p.hs, p.rs, p.st, scale)
		pn.cbar = scale
		ls := c.pal.style(p.g, false)
		a, b, r2, err := FitEntropyReward(p.hs, p.rs)
		if err != nil {
			pn.addEntry("no fit: "+err.Error(), scatterThumb(color.Gray{Y: 120}))
		} else {
			lo, hi := minMax(p.hs)
			xs := make([]float64, 101)
			ys := make([]float64, 101)
			for k := range xs {
				xs[k] = lo + (hi-lo)*float64(k)/100
				ys[k] = -a*math.Exp(xs[k]) + b
			}
			ls.Width = vg.Points(2)
			pn.addLine(xs, ys, ls)
			fit := "fit a=" + fmtStat4(a) + ", b=" + fmtStat4(b) + ", R²=" + fmtStat(r2)
			pn.addEntry(p.g.Label()+": "+fit, lineThumb(ls))
			if overlay != nil {
				overlay.addLine(xs, ys, ls)
				overlay.addEntry(p.g.Label()+": "+fit, lineThumb(ls))
			}
		}
		l, h := minMax(p.hs)
		xlo, xhi = math.Min(xlo, l), math.Max(xhi, h)
		l, h = minMax(p.rs)
		ylo, yhi = math.Min(ylo, l), math.Max(yhi, h)
		panels = append(panels, pn)
	}
	if len(panels) > 1 { // one range for all, so the panels compare at a glance
		for _, pn := range panels {
			pn.p.X.Min, pn.p.X.Max = xlo, xhi
			pn.p.Y.Min, pn.p.Y.Max = ylo, yhi
		}
	}
	if overlay != nil && overlay.has {
		overlay.p.X.Min, overlay.p.X.Max = xlo, xhi
		overlay.p.Y.Min, overlay.p.Y.Max = ylo, yhi
		panels = append([]*panel{overlay}, panels...)
	}
	return panels
}

// Windows of the entropy-change figure when the runs are not smoothed
// already: rolling means over about 1/30 of the steps once a run has
// autoSmoothMin points, and a rolling correlation over 1/15 of them
// (between corrMin and corrMax steps).
const (
	autoSmoothMin = 90
	corrMin       = 10
	corrMax       = 50
)

// buildEntropyDelta draws the entropy-mechanism check readable for long
// runs: the measured and predicted per-step changes as rolling means (the
// --smooth window, else about 1/30 of the steps), their rolling Pearson r
// over a trailing window, and the raw scatter of measured against
// predicted with y = x and the overall r.
func buildEntropyDelta(c *figCtx) []*panel {
	n := 0
	for _, g := range c.groups {
		for _, r := range g.Runs {
			st, _, _ := Join(raw(r.Get(KeyPredictedDelta)), raw(r.Get(KeyActualDelta)))
			n = max(n, len(st))
		}
	}
	auto := 1
	if n >= autoSmoothMin {
		auto = int(math.Round(float64(n) / 30))
	}
	steps := newPanel("entropy change per step: measured (solid) and first-order predicted (dashed)", axisStep, axis(KeyActualDelta))
	for _, g := range c.groups {
		for _, k := range []string{KeyActualDelta, KeyPredictedDelta} {
			ser := g.Series(k)
			for i, s := range ser {
				if s != nil && s.Window <= 1 && auto > 1 {
					ser[i] = smoothSeries(raw(s), auto)
				}
			}
			c.addSeries(steps, g, ser, k == KeyPredictedDelta, seriesName(c.groups, g, map[string]string{KeyActualDelta: "measured", KeyPredictedDelta: "predicted"}[k]))
		}
	}
	w := min(max(n/15, corrMin), corrMax)
	corr := newPanel(fmt.Sprintf("rolling Pearson r of the per-step predicted and measured changes (trailing %d steps)", w), axisStep, axisRollingR)
	if n >= 2*w {
		for _, g := range c.groups {
			ser := make([]*Series, len(g.Runs))
			for i, r := range g.Runs {
				ser[i] = rollingCorr(raw(r.Get(KeyPredictedDelta)), raw(r.Get(KeyActualDelta)), w)
			}
			c.addSeries(corr, g, ser, false, seriesName(c.groups, g, ""))
		}
		corr.windows = nil // the window is in the title; the lines are not smoothed further
	}
	scatter := newPanel("measured vs predicted entropy change, one point per step (raw)", axis(KeyPredictedDelta), axis(KeyActualDelta))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range c.groups {
		var ps, as []float64
		for _, r := range g.Runs {
			_, p, a := Join(raw(r.Get(KeyPredictedDelta)), raw(r.Get(KeyActualDelta)))
			ps = append(ps, p...)
			as = append(as, a...)
		}
		if len(ps) == 0 {
			continue
		}
		col := c.pal.color(g)
		scatter.addScatter(ps, as, col)
		for _, v := range [][]float64{ps, as} {
			l, h := minMax(v)
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
		scatter.addEntry(g.Label()+": Pearson r="+fmtStat(Pearson(ps, as)), scatterThumb(col))
	}
	if scatter.has {
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		diag := draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
		scatter.addLine([]float64{lo, hi}, []float64{lo, hi}, diag)
		scatter.addEntry("y = x", lineThumb(diag))
	}
	return keep(steps, corr, scatter)
}

// rollingCorr is the Pearson r of x and y over the trailing w steps where
// both are finite, at each such step from the w-th on.
func rollingCorr(x, y *Series, w int) *Series {
	st, xs, ys := Join(x, y)
	out := &Series{Key: "rolling r"}
	for i := w - 1; i < len(st); i++ {
		out.Steps = append(out.Steps, st[i])
		out.Values = append(out.Values, Pearson(xs[i-w+1:i+1], ys[i-w+1:i+1]))
	}
	if len(out.Steps) == 0 {
		return nil
	}
	return out
}

func buildClipfrac(c *figCtx) []*panel {
	pn := newPanel("clip fractions: ratio clip (solid) and dual clip (dashed)", axisStep, axis(KeyClipfrac))
	for _, g := range c.groups {
		c.addGroup(pn, g, KeyClipfrac, false, seriesName(c.groups, g, "clip"))
		c.addGroup(pn, g, KeyClipfracLower, true, seriesName(c.groups, g, "dual clip"))
	}
	return keep(pn)
}

// buildResponseLength draws response_length/mean. One run gets a band from
// response_length/min to response_length/max (the step's shortest and
// longest completion); several seeds get their mean with the 95% band of
// the mean over seeds.
func buildResponseLength(c *figCtx) []*panel {
	pn := newPanel("response length vs step", axisStep, axis(KeyRespLenMean))
	for _, g := range c.groups {
		if len(g.Runs) > 1 {
			c.addGroup(pn, g, KeyRespLenMean, false, g.Label())
			continue
		}
		r := g.Runs[0]
		ls := c.pal.style(g, false)
		mean := r.Get(KeyRespLenMean)
		if mean == nil {
			continue
		}
		mins, maxs := r.Get(KeyRespLenMin), r.Get(KeyRespLenMax)
		band := false
		if mins != nil && maxs != nil {
			x, lo, hi := alignBand(mins.Steps, mins.Values, maxs.Steps, maxs.Values)
			band = pn.addBand(x, lo, hi, fade(ls.Color))
		}
		if pn.addLine(floats(mean.Steps), mean.Values, ls) {
			pn.windows = appendWindow(pn.windows, mean.Window)
			if band {
				pn.addEntry(g.Label()+": mean; band: shortest–longest completion", bandThumb{fill: fade(ls.Color), line: ls})
			} else {
				pn.addEntry(g.Label()+": mean", lineThumb(ls))
			}
		}
	}
	return keep(pn)
}

func buildControllers(c *figCtx) []*panel {
	seen := map[string]bool{}
	var keys []string
	for _, g := range c.groups {
		for _, r := range g.Runs {
			for k, s := range r.Series {
				if strings.HasPrefix(k, ControllerPrefix) && !seen[k] && s.HasFinite() {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	sort.Strings(keys)
	var panels []*panel
	for _, k := range keys {
		title := k
		if d, ok := metric.Lookup(k); ok {
			title = d.Meaning
		}
		pn := newPanel(title, axisStep, axis(k))
		for _, g := range c.groups {
			c.addGroup(pn, g, k, false, seriesName(c.groups, g, ""))
		}
		panels = append(panels, keep(pn)...)
	}
	return panels
}

// seriesName is a legend entry: the group's label, what of it is drawn
// (measured, predicted) when one group draws several lines, or both.
func seriesName(groups []Group, g Group, what string) string {
	switch {
	case what == "":
		return g.Label()
	case len(groups) == 1:
		return what
	}
	return g.Label() + ": " + what
}

// addGroup draws key for a group (see addSeries).
func (c *figCtx) addGroup(pn *panel, g Group, key string, dashed bool, name string) bool {
	return c.addSeries(pn, g, g.Series(key), dashed, name)
}

// addSeries draws a group's series (one per run, nil where a run lacks it):
// one run's as it is, several seeds as their mean with a filled 95%
// bootstrap band over seeds under the line. It adds a legend entry when
// anything was drawn.
func (c *figCtx) addSeries(pn *panel, g Group, ser []*Series, dashed bool, name string) bool {
	ls := c.pal.style(g, dashed)
	for _, s := range ser {
		if s != nil {
			pn.windows = appendWindow(pn.windows, s.Window)
		}
	}
	if len(ser) == 1 {
		s := ser[0]
		if s == nil || !pn.addLine(floats(s.Steps), s.Values, ls) {
			return false
		}
		if pn.marks {
			pn.addEntry(name, lineThumb(ls), scatterThumb(ls.Color))
		} else {
			pn.addEntry(name, lineThumb(ls))
		}
		return true
	}
	b := AggregateCI(ser, c.boot)
	x := floats(b.Steps)
	band := pn.addBand(x, b.Low, b.High, fade(ls.Color))
	line := pn.addLine(x, b.Mean, ls)
	if !band && !line {
		return false
	}
	pn.banded = pn.banded || band
	if pn.marks {
		pn.addEntry(name, bandThumb{fill: fade(ls.Color), line: ls}, scatterThumb(ls.Color))
	} else {
		pn.addEntry(name, bandThumb{fill: fade(ls.Color), line: ls})
	}
	return true
}

// ---- small helpers ----

func floats(steps []int) []float64 {
	out := make([]float64, len(steps))
	for i, s := range steps {
		out[i] = float64(s)
	}
	return out
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if isFinite(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	return lo, hi
}

// fmtStat prints a statistic with three decimals ("n/a" for NaN, no "-0.000").
func fmtStat(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	if s == "-0.000" {
		s = "0.000"
	}
	return s
}

// fmtStat4 prints a fitted coefficient with four significant digits.
func fmtStat4(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func anyFinite(v []float64) bool {
	for _, x := range v {
		if isFinite(x) {
			return true
		}
	}
	return false
}
