package plots

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
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
	build func(groups []Group) []*panel
}

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
//	reward             critic/score/mean vs step; val/accuracy vs step (two panels)
//	entropy_vs_reward  critic/score/mean vs actor/entropy with the fit R = −a·exp(H) + b
//	entropy_delta      entropy/predicted_delta and entropy/actual_delta vs step;
//	                   actual vs predicted with y = x and Pearson r (two panels)
//	clipfrac           actor/pg_clipfrac (solid) and actor/pg_clipfrac_lower (dashed)
//	response_length    response_length/mean with a min–max band
//	controllers        one panel per controller/* key
//	pass_at_k          val/pass@k against k (log₂ axis) of the base (step 0) and
//	                   each group's final policy, seeds as mean with a 95% CI band
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
// as mean with a min–max band, see GroupRuns) and returns the encoded file.
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
			return renderFigure(fig, GroupRuns(runs), f)
		}
	}
	return nil, fmt.Errorf("plots: %w figure %q (known: %s)", ErrUnknownName, name, strings.Join(FigureNames(), ", "))
}

func renderFigure(fig figure, groups []Group, format string) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("plots: render %s: panic: %v", fig.name, p)
		}
	}()
	panels := fig.build(groups)
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
	groups := GroupRuns(runs)
	var written []string
	for _, fig := range figures {
		b, err := renderFigure(fig, groups, f)
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

func buildEntropy(groups []Group) []*panel {
	pn := newPanel(KeyEntropy+" vs step", "step", KeyEntropy)
	for i, g := range groups {
		pn.addGroup(g, KeyEntropy, lineStyle(i, false), seriesName(groups, g, ""))
	}
	return keep(pn)
}

func buildReward(groups []Group) []*panel {
	reward := newPanel(KeyReward+" vs step", "step", KeyReward)
	acc := newPanel(KeyValAccuracy+" (held-out) vs step", "step", KeyValAccuracy)
	acc.marks = true // evaluated every few steps only
	for i, g := range groups {
		reward.addGroup(g, KeyReward, lineStyle(i, false), seriesName(groups, g, ""))
		acc.addGroup(g, KeyValAccuracy, lineStyle(i, false), seriesName(groups, g, ""))
	}
	return keep(reward, acc)
}

func buildEntropyVsReward(groups []Group) []*panel {
	pn := newPanel(KeyReward+" vs "+KeyEntropy+", fit "+entropyRewardTitle,
		KeyEntropy+" (H)", KeyReward+" (R)")
	var fits []string
	for i, g := range groups {
		var hs, rs []float64
		for _, r := range g.Runs { // seeds of one configuration share a fit
			_, h, rw := Join(r.Get(KeyEntropy), r.Get(KeyReward))
			hs = append(hs, h...)
			rs = append(rs, rw...)
		}
		if len(hs) == 0 {
			continue
		}
		ls := lineStyle(i, false)
		pn.addScatter(hs, rs, ls.Color)
		name := g.Label()
		a, b, r2, err := FitEntropyReward(hs, rs)
		if err != nil {
			pn.legend.Add(name+": no fit", scatterThumb(ls.Color))
			pn.entries++
			continue
		}
		fit := "a=" + fmtStat4(a) + ", b=" + fmtStat4(b) + ", R²=" + fmtStat(r2)
		fits = append(fits, fit)
		lo, hi := minMax(hs)
		xs := make([]float64, 101)
		ys := make([]float64, 101)
		for k := range xs {
			xs[k] = lo + (hi-lo)*float64(k)/100
			ys[k] = -a*math.Exp(xs[k]) + b
		}
		fitStyle := ls
		fitStyle.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		pn.addLine(xs, ys, fitStyle)
		pn.legend.Add(name+": "+fit, scatterThumb(ls.Color), lineThumb(fitStyle))
		pn.entries++
	}
	if len(groups) == 1 && len(fits) == 1 {
		pn.p.Title.Text = KeyReward + " vs " + KeyEntropy + ": " + entropyRewardTitle + ", " + fits[0]
	}
	return keep(pn)
}

func buildEntropyDelta(groups []Group) []*panel {
	steps := newPanel(KeyActualDelta+" (solid) and "+KeyPredictedDelta+" (dashed) vs step", "step", "entropy change")
	for i, g := range groups {
		steps.addGroup(g, KeyActualDelta, lineStyle(i, false), seriesName(groups, g, KeyActualDelta))
		steps.addGroup(g, KeyPredictedDelta, lineStyle(i, true), seriesName(groups, g, KeyPredictedDelta))
	}
	scatter := newPanel(KeyActualDelta+" vs "+KeyPredictedDelta, KeyPredictedDelta, KeyActualDelta)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, g := range groups {
		var ps, as []float64
		for _, r := range g.Runs {
			_, p, a := Join(r.Get(KeyPredictedDelta), r.Get(KeyActualDelta))
			ps = append(ps, p...)
			as = append(as, a...)
		}
		if len(ps) == 0 {
			continue
		}
		c := lineStyle(i, false).Color
		scatter.addScatter(ps, as, c)
		for _, v := range [][]float64{ps, as} {
			l, h := minMax(v)
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
		scatter.legend.Add(g.Label()+": Pearson r="+fmtStat(Pearson(ps, as)), scatterThumb(c))
		scatter.entries++
	}
	if scatter.has {
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		diag := draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
		scatter.addLine([]float64{lo, hi}, []float64{lo, hi}, diag)
		scatter.legend.Add("y = x", lineThumb(diag))
		scatter.entries++
	}
	return keep(steps, scatter)
}

func buildClipfrac(groups []Group) []*panel {
	pn := newPanel(KeyClipfrac+" (solid) and "+KeyClipfracLower+" (dashed) vs step", "step", "clip fraction")
	for i, g := range groups {
		pn.addGroup(g, KeyClipfrac, lineStyle(i, false), seriesName(groups, g, KeyClipfrac))
		pn.addGroup(g, KeyClipfracLower, lineStyle(i, true), seriesName(groups, g, KeyClipfracLower))
	}
	return keep(pn)
}

// buildResponseLength draws response_length/mean with a band from
// response_length/min to response_length/max. For seeds of one group the line
// is the mean of the seeds' means and the band runs from the smallest min to
// the largest max; a group lacking min and max gets the seeds' min–max of the
// mean instead.
func buildResponseLength(groups []Group) []*panel {
	pn := newPanel(KeyRespLenMean+" with "+KeyRespLenMin+"–"+KeyRespLenMax+" band", "step", "response length (tokens)")
	for i, g := range groups {
		ls := lineStyle(i, false)
		means := Aggregate(g.Series(KeyRespLenMean))
		mins := Aggregate(g.Series(KeyRespLenMin))
		maxs := Aggregate(g.Series(KeyRespLenMax))
		x, lo, hi := alignBand(mins.Steps, mins.Min, maxs.Steps, maxs.Max)
		what := "mean, min–max"
		if len(g.Runs) > 1 {
			what = "mean of seeds, min–max over seeds"
		}
		if !anyFinite(lo) && !anyFinite(hi) && len(g.Runs) > 1 {
			x, lo, hi = floats(means.Steps), means.Min, means.Max
			what = "mean of seeds, seed min–max of the mean"
		}
		band := pn.addBand(x, lo, hi, fade(ls.Color))
		line := pn.addLine(floats(means.Steps), means.Mean, ls)
		if band || line {
			pn.legend.Add(g.Label()+": "+what, bandThumb{fill: fade(ls.Color), line: ls})
			pn.entries++
		}
	}
	return keep(pn)
}

func buildControllers(groups []Group) []*panel {
	seen := map[string]bool{}
	var keys []string
	for _, g := range groups {
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
		pn := newPanel(k+" vs step", "step", k)
		for i, g := range groups {
			pn.addGroup(g, k, lineStyle(i, false), seriesName(groups, g, ""))
		}
		panels = append(panels, keep(pn)...)
	}
	return panels
}

// seriesName is a legend entry: the group's label, the metric key when one
// group draws several keys, or both.
func seriesName(groups []Group, g Group, key string) string {
	switch {
	case key == "":
		return g.Label()
	case len(groups) == 1:
		return key
	}
	return g.Label() + ": " + key
}

// ---- panels ----

// panel is one plot of a figure plus its legend, drawn beside the plot so it
// never covers data.
type panel struct {
	p       *plot.Plot
	legend  plot.Legend
	entries int
	bands   []plot.Plotter // drawn first, under every line
	lines   []plot.Plotter
	has     bool // at least one finite point
	marks   bool // draw a dot at every point (sparse series such as val/*)
}

func newPanel(title, xlabel, ylabel string) *panel {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.X.Tick.Marker = niceTicks{n: 7, integer: xlabel == "step"}
	p.Y.Tick.Marker = niceTicks{n: 6}
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.Padding = vg.Points(3)
	return &panel{p: p, legend: leg}
}

// keep returns the panels that have data.
func keep(ps ...*panel) []*panel {
	var out []*panel
	for _, p := range ps {
		if p.has {
			out = append(out, p)
		}
	}
	return out
}

// addGroup draws key for a group: a run's series as is, or several seeds as
// their mean with a min–max band. It adds a legend entry when anything was
// drawn.
func (pn *panel) addGroup(g Group, key string, ls draw.LineStyle, name string) bool {
	if len(g.Runs) == 1 {
		s := g.Runs[0].Get(key)
		if s == nil {
			return false
		}
		if !pn.addLine(floats(s.Steps), s.Values, ls) {
			return false
		}
		if pn.marks {
			pn.legend.Add(name, lineThumb(ls), scatterThumb(ls.Color))
		} else {
			pn.legend.Add(name, lineThumb(ls))
		}
		pn.entries++
		return true
	}
	b := Aggregate(g.Series(key))
	x := floats(b.Steps)
	band := pn.addBand(x, b.Min, b.Max, fade(ls.Color))
	line := pn.addLine(x, b.Mean, ls)
	if !band && !line {
		return false
	}
	pn.legend.Add(name+": mean, min–max", bandThumb{fill: fade(ls.Color), line: ls})
	pn.entries++
	return true
}

// addLine draws the finite stretches of (x, y) as separate lines, so a NaN
// or Inf leaves a gap instead of being joined across; a stretch of one point
// is drawn as a dot. It reports whether any point was finite.
func (pn *panel) addLine(x, y []float64, ls draw.LineStyle) bool {
	drew := false
	for _, seg := range finiteSegments(x, y) {
		drew = true
		if len(seg) == 1 || pn.marks {
			sc := &plotter.Scatter{XYs: seg, GlyphStyle: glyph(ls.Color, 2)}
			pn.lines = append(pn.lines, sc)
		}
		if len(seg) > 1 {
			pn.lines = append(pn.lines, &plotter.Line{XYs: seg, LineStyle: ls})
		}
	}
	pn.has = pn.has || drew
	return drew
}

// addScatter draws the finite (x, y) pairs as dots.
func (pn *panel) addScatter(x, y []float64, c color.Color) bool {
	var xys plotter.XYs
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			xys = append(xys, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	if len(xys) == 0 {
		return false
	}
	pn.lines = append(pn.lines, &plotter.Scatter{XYs: xys, GlyphStyle: glyph(c, 2)})
	pn.has = true
	return true
}

// addBand fills between lo and hi over each stretch where both are finite.
func (pn *panel) addBand(x, lo, hi []float64, c color.Color) bool {
	var rings []plotter.XYs
	var cur plotter.XYs
	var curHi []plotter.XY
	flush := func() {
		if len(cur) > 1 {
			ring := append(plotter.XYs{}, cur...)
			for k := len(curHi) - 1; k >= 0; k-- {
				ring = append(ring, curHi[k])
			}
			rings = append(rings, ring)
		}
		cur, curHi = nil, nil
	}
	for i := range x {
		if i < len(lo) && i < len(hi) && isFinite(x[i]) && isFinite(lo[i]) && isFinite(hi[i]) {
			cur = append(cur, plotter.XY{X: x[i], Y: lo[i]})
			curHi = append(curHi, plotter.XY{X: x[i], Y: hi[i]})
			continue
		}
		flush()
	}
	flush()
	if len(rings) == 0 {
		return false
	}
	pn.bands = append(pn.bands, &bandPlotter{rings: rings, color: c})
	pn.has = true
	return true
}

// finish adds the grid and layers to the plot and fixes degenerate ranges.
func (pn *panel) finish() {
	pn.p.Add(plotter.NewGrid())
	pn.p.Add(pn.bands...)
	pn.p.Add(pn.lines...)
	fixRange(&pn.p.X)
	fixRange(&pn.p.Y)
}

// fixRange gives an axis without data [0, 1] and widens a zero-width range
// (a single point) around its value, so tick marks stay sensible.
func fixRange(a *plot.Axis) {
	if !isFinite(a.Min) || !isFinite(a.Max) || a.Min > a.Max {
		a.Min, a.Max = 0, 1
		return
	}
	if span := a.Max - a.Min; span <= 1e-12*math.Max(math.Abs(a.Min), math.Abs(a.Max)) {
		c := (a.Min + a.Max) / 2
		pad := math.Max(math.Abs(c)*0.1, 0.5)
		a.Min, a.Max = c-pad, c+pad
	}
}

// finiteSegments splits (x, y) into the stretches where both are finite.
func finiteSegments(x, y []float64) []plotter.XYs {
	var segs []plotter.XYs
	var cur plotter.XYs
	for i := range x {
		if i < len(y) && isFinite(x[i]) && isFinite(y[i]) {
			cur = append(cur, plotter.XY{X: x[i], Y: y[i]})
			continue
		}
		if len(cur) > 0 {
			segs = append(segs, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

// alignBand puts two series on the union of their steps, NaN where one lacks
// a step.
func alignBand(loSteps []int, lo []float64, hiSteps []int, hi []float64) (x, l, h []float64) {
	idx := map[int]int{}
	var steps []int
	for _, s := range append(append([]int{}, loSteps...), hiSteps...) {
		if _, ok := idx[s]; !ok {
			idx[s] = 0
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	x = floats(steps)
	l = make([]float64, len(steps))
	h = make([]float64, len(steps))
	for i, s := range steps {
		idx[s] = i
		l[i], h[i] = math.NaN(), math.NaN()
	}
	for i, s := range loSteps {
		l[idx[s]] = lo[i]
	}
	for i, s := range hiSteps {
		h[idx[s]] = hi[i]
	}
	return x, l, h
}

// bandPlotter fills polygons without outlines (a zero-width stroke draws a
// hairline in some backends).
type bandPlotter struct {
	rings []plotter.XYs
	color color.Color
}

func (b *bandPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, ring := range b.rings {
		pts := make([]vg.Point, len(ring))
		for i, xy := range ring {
			pts[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
		}
		if poly := c.ClipPolygonXY(pts); len(poly) > 2 {
			c.FillPolygon(b.color, poly)
		}
	}
}

func (b *bandPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, ring := range b.rings {
		for _, xy := range ring {
			xmin, xmax = math.Min(xmin, xy.X), math.Max(xmax, xy.X)
			ymin, ymax = math.Min(ymin, xy.Y), math.Max(ymax, xy.Y)
		}
	}
	return
}

// bandThumb is a legend thumbnail: a filled bar with the mean line through it.
type bandThumb struct {
	fill color.Color
	line draw.LineStyle
}

func (t bandThumb) Thumbnail(c *draw.Canvas) {
	h := c.Max.Y - c.Min.Y
	c.FillPolygon(t.fill, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y + h*0.1}, {X: c.Max.X, Y: c.Min.Y + h*0.1},
		{X: c.Max.X, Y: c.Max.Y - h*0.1}, {X: c.Min.X, Y: c.Max.Y - h*0.1},
	})
	y := c.Center().Y
	c.StrokeLine2(t.line, c.Min.X, y, c.Max.X, y)
}

func lineThumb(ls draw.LineStyle) plot.Thumbnailer { return &plotter.Line{LineStyle: ls} }

func scatterThumb(c color.Color) plot.Thumbnailer {
	return &plotter.Scatter{GlyphStyle: glyph(c, 3)}
}

func glyph(c color.Color, r float64) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Radius: vg.Points(r), Shape: draw.CircleGlyph{}}
}

// palette is matplotlib's tab10, one color per group.
var palette = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

// lineStyle is group i's line; dashed for a figure's second metric.
func lineStyle(i int, dashed bool) draw.LineStyle {
	ls := draw.LineStyle{Color: palette[i%len(palette)], Width: vg.Points(1.5)}
	if dashed {
		ls.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return ls
}

// fade is a color's translucent fill for bands.
func fade(c color.Color) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = 0x48
	return n
}

// ---- layout and encoding ----

const (
	plotWidth   = 7 * vg.Inch   // one panel's plot, axes and title
	panelHeight = 3.4 * vg.Inch // one panel, panelGap included
	panelGap    = 0.2 * vg.Inch // below each panel, so an x label never touches the next title
	legendGap   = 0.15 * vg.Inch
	pngDPI      = 110
)

// render lays the panels out top to bottom, each with its legend in a
// column to the right of the plot, and encodes the figure.
func render(panels []*panel, format string) ([]byte, error) {
	var legendW vg.Length
	for _, pn := range panels {
		pn.finish()
		if pn.entries > 0 {
			r := pn.legend.Rectangle(draw.Canvas{})
			legendW = max(legendW, r.Max.X-r.Min.X)
		}
	}
	width := plotWidth
	if legendW > 0 {
		width += legendW + 2*legendGap
	}
	height := panelHeight * vg.Length(len(panels))

	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pngDPI))}
	case "svg":
		cw = vgsvg.New(width, height)
	case "pdf":
		cw = vgpdf.New(width, height)
	default:
		return nil, fmt.Errorf("%w format %q (known: %s)", ErrUnknownName, format, strings.Join(knownFormats, ", "))
	}
	dc := draw.New(cw)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	for i, pn := range panels {
		top := height - panelHeight*vg.Length(i)
		pc := draw.Canvas{Canvas: cw, Rectangle: vg.Rectangle{
			Min: vg.Point{X: 0, Y: top - panelHeight + panelGap},
			Max: vg.Point{X: plotWidth, Y: top},
		}}
		pn.p.Draw(pc)
		if pn.entries == 0 {
			continue
		}
		titleH := pn.p.Title.TextStyle.Rectangle(pn.p.Title.Text).Size().Y + pn.p.Title.Padding
		lc := draw.Canvas{Canvas: cw, Rectangle: vg.Rectangle{
			Min: vg.Point{X: plotWidth + legendGap, Y: top - panelHeight},
			Max: vg.Point{X: width - legendGap, Y: top - titleH - legendGap},
		}}
		pn.legend.Draw(lc)
	}
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
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
