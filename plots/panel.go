package plots

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image/color"
	"math"
	"slices"
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

// panel is one plot of a figure with its caption (what the bands are, how
// the lines are smoothed), an optional step colour bar and its legend, all
// drawn below the plot so that none of them covers data.
type panel struct {
	p       *plot.Plot
	entries []legendEntry
	bands   []plot.Plotter // drawn first, under every line
	lines   []plot.Plotter
	has     bool     // at least one finite point
	marks   bool     // draw a dot at every point (sparse series such as val/*)
	notes   []string // caption lines, before the generated ones
	windows []int    // smoothing windows of the lines drawn (0: raw)
	banded  bool     // a confidence band was drawn
	cbar    *stepScale
}

type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

func newPanel(title, xlabel, ylabel string) *panel {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.X.Tick.Marker = niceTicks{n: 7, integer: xlabel == axisStep}
	p.Y.Tick.Marker = niceTicks{n: 6}
	return &panel{p: p}
}

func (pn *panel) addEntry(name string, thumbs ...plot.Thumbnailer) {
	pn.entries = append(pn.entries, legendEntry{name: name, thumbs: thumbs})
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

// addLine draws the finite stretches of (x, y) as separate lines, so a NaN
// or Inf leaves a gap instead of being joined across (gonum/plot draws a
// NaN as a broken path); a stretch of one point is drawn as a dot. It
// reports whether any point was finite.
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

// addColoredScatter draws the finite (x, y) pairs as dots coloured by z on
// scale (drawn under the lines, so a fit stays visible).
func (pn *panel) addColoredScatter(x, y, z []float64, scale *stepScale) bool {
	sc := &colorScatter{scale: scale}
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			sc.pts = append(sc.pts, [3]float64{x[i], y[i], z[i]})
		}
	}
	if len(sc.pts) == 0 {
		return false
	}
	pn.bands = append(pn.bands, sc)
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

// BandCaption says on a figure what its filled bands are.
const BandCaption = "band: 95% bootstrap CI of the mean over seeds (2,000 resamples of whole runs, seeded)"

// caption is the panel's notes followed by what its bands are and how its
// lines are smoothed.
func (pn *panel) caption() []string {
	out := slices.Clone(pn.notes)
	if pn.banded {
		out = append(out, BandCaption)
	}
	if s := smoothingNote(pn.windows); s != "" {
		out = append(out, s)
	}
	return out
}

// smoothingNote says how lines with these windows were smoothed.
func smoothingNote(ws []int) string {
	if len(ws) == 0 {
		return ""
	}
	lo, hi, raw := math.MaxInt, 0, false
	for _, w := range ws {
		if w <= 1 {
			raw = true
			continue
		}
		lo, hi = min(lo, w), max(hi, w)
	}
	if hi == 0 {
		return "lines: raw values, not smoothed"
	}
	s := "lines: trailing rolling mean over " + strconv.Itoa(lo) + " steps"
	if hi != lo {
		s = "lines: trailing rolling mean over " + strconv.Itoa(lo) + "–" + strconv.Itoa(hi) + " steps (by run length)"
	}
	if raw {
		s += "; series too short or sparse to smooth (val/*) raw"
	}
	return s
}

func appendWindow(ws []int, w int) []int {
	if !slices.Contains(ws, w) {
		ws = append(ws, w)
	}
	return ws
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

// colorScatter draws points coloured by a third value on a stepScale.
type colorScatter struct {
	pts   [][3]float64
	scale *stepScale
}

func (s *colorScatter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, q := range s.pts {
		pt := vg.Point{X: trX(q[0]), Y: trY(q[1])}
		if c.Contains(pt) {
			c.DrawGlyph(glyph(s.scale.color(q[2]), 2.2), pt)
		}
	}
}

func (s *colorScatter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, q := range s.pts {
		xmin, xmax = math.Min(xmin, q[0]), math.Max(xmax, q[0])
		ymin, ymax = math.Min(ymin, q[1]), math.Max(ymax, q[1])
	}
	return
}

// stepScale maps training steps to viridis colours (dark purple at min,
// yellow at max); it is drawn as a horizontal colour bar under its panel.
type stepScale struct{ min, max float64 }

// viridis anchors (matplotlib), evenly spaced from 0 to 1.
var viridis = []color.NRGBA{
	{68, 1, 84, 255}, {71, 44, 122, 255}, {59, 81, 139, 255}, {44, 113, 142, 255}, {33, 144, 141, 255},
	{39, 173, 129, 255}, {92, 200, 99, 255}, {170, 220, 50, 255}, {253, 231, 37, 255},
}

func (s *stepScale) color(v float64) color.Color {
	t := 0.0
	if s.max > s.min && isFinite(v) {
		t = math.Min(1, math.Max(0, (v-s.min)/(s.max-s.min)))
	}
	f := t * float64(len(viridis)-1)
	i := min(int(f), len(viridis)-2)
	u := f - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + u*(float64(y)-float64(x)))) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
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

// paletteColors are matplotlib's tab10 followed by ten darker hues of
// tab20b, for reports of more than ten series.
var paletteColors = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
	{0x39, 0x3b, 0x79, 0xff}, {0x63, 0x79, 0x39, 0xff}, {0x8c, 0x6d, 0x31, 0xff},
	{0x84, 0x3c, 0x39, 0xff}, {0x7b, 0x41, 0x73, 0xff}, {0x52, 0x54, 0xa3, 0xff},
	{0x8c, 0xa2, 0x52, 0xff}, {0xbd, 0x9e, 0x39, 0xff}, {0xad, 0x49, 0x4a, 0xff},
	{0xa5, 0x51, 0x94, 0xff},
}

// palette gives each series one colour, the same in every figure of a
// report: keyed by the series' name (Group.Name, else its key — never the
// seed count), each name takes the colour its hash prefers, or the next
// free one. Names are placed in sorted order, so the colours depend on the
// set of series, not on the order of the runs; a series keeps its colour
// in another report wherever its preferred colour is free there.
type palette map[string]color.NRGBA

func seriesKey(g Group) string {
	if g.Name != "" {
		return g.Name
	}
	return g.Key
}

func newPalette(groups []Group) palette {
	var names []string
	for _, g := range groups {
		if k := seriesKey(g); !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	n := len(paletteColors)
	if len(names) <= 10 {
		n = 10 // the distinct tab10 hues while they suffice
	}
	pal := palette{}
	used := make([]bool, n)
	free := n
	for _, name := range names {
		if free == 0 { // more series than colours: a second round
			clear(used)
			free = n
		}
		h := fnv.New32a()
		h.Write([]byte(name))
		i := int(h.Sum32() % uint32(n))
		for used[i] {
			i = (i + 1) % n
		}
		used[i] = true
		free--
		pal[name] = paletteColors[i]
	}
	return pal
}

func (p palette) color(g Group) color.Color {
	if c, ok := p[seriesKey(g)]; ok {
		return c
	}
	return paletteColors[0]
}

// style is group g's line; dashed for a figure's second metric.
func (p palette) style(g Group, dashed bool) draw.LineStyle {
	ls := draw.LineStyle{Color: p.color(g), Width: vg.Points(1.5)}
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
	figWidth   = 7.5 * vg.Inch // the whole figure
	plotHeight = 3.1 * vg.Inch // one panel's plot, title and axes
	panelGap   = 0.25 * vg.Inch
	sideMargin = 0.15 * vg.Inch
	captionPt  = 9
	legendPt   = 9
	cbarHeight = 0.16 * vg.Inch
	cbarBlock  = 0.6 * vg.Inch // the bar, its tick labels and its label
	maxColumns = 4
	pngDPI     = 110
)

// legendLayout splits the entries into up to maxColumns columns (filled top
// to bottom, then left to right) that fit the figure's width.
func legendLayout(entries []legendEntry) (cols []plot.Legend, height vg.Length) {
	if len(entries) == 0 {
		return nil, 0
	}
	mk := func(es []legendEntry) plot.Legend {
		l := plot.NewLegend()
		l.Top, l.Left = true, true
		l.TextStyle.Font.Size = vg.Points(legendPt)
		l.Padding = vg.Points(2)
		l.ThumbnailWidth = vg.Points(22)
		for _, e := range es {
			l.Add(e.name, e.thumbs...)
		}
		return l
	}
	for ncol := min(maxColumns, len(entries)); ncol >= 1; ncol-- {
		rows := (len(entries) + ncol - 1) / ncol
		var ls []plot.Legend
		var w vg.Length
		for j := 0; j*rows < len(entries); j++ {
			l := mk(entries[j*rows : min((j+1)*rows, len(entries))])
			r := l.Rectangle(draw.Canvas{})
			w += r.Max.X - r.Min.X + vg.Points(14)
			ls = append(ls, l)
		}
		if w <= figWidth-2*sideMargin || ncol == 1 {
			r := ls[0].Rectangle(draw.Canvas{})
			return ls, r.Max.Y - r.Min.Y + vg.Points(4)
		}
	}
	return nil, 0
}

var captionStyle = func() draw.TextStyle {
	l := plot.NewLegend()
	st := l.TextStyle
	st.Font.Size = vg.Points(captionPt)
	st.Color = color.Gray{Y: 60}
	st.XAlign, st.YAlign = draw.XLeft, draw.YTop
	return st
}()

// render lays the panels out top to bottom — each plot, its caption, its
// colour bar and its legend below it — and encodes the figure.
func render(panels []*panel, format string) ([]byte, error) {
	type block struct {
		caption []string
		legends []plot.Legend
		legendH vg.Length
		height  vg.Length
	}
	lineH := vg.Points(captionPt + 3)
	blocks := make([]block, len(panels))
	var height vg.Length
	for i, pn := range panels {
		pn.finish()
		b := block{caption: pn.caption()}
		b.legends, b.legendH = legendLayout(pn.entries)
		b.height = plotHeight + lineH*vg.Length(len(b.caption)) + b.legendH + panelGap
		if len(b.caption) > 0 {
			b.height += vg.Points(4)
		}
		if pn.cbar != nil {
			b.height += cbarBlock
		}
		blocks[i] = b
		height += b.height
	}

	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, height), vgimg.UseDPI(pngDPI))}
	case "svg":
		cw = vgsvg.New(figWidth, height)
	case "pdf":
		cw = vgpdf.New(figWidth, height)
	default:
		return nil, fmt.Errorf("%w format %q (known: %s)", ErrUnknownName, format, strings.Join(knownFormats, ", "))
	}
	dc := draw.New(cw)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	top := height
	for i, pn := range panels {
		b := blocks[i]
		pc := draw.Canvas{Canvas: cw, Rectangle: vg.Rectangle{
			Min: vg.Point{X: sideMargin, Y: top - plotHeight},
			Max: vg.Point{X: figWidth - sideMargin, Y: top},
		}}
		pn.p.Draw(pc)
		y := top - plotHeight - vg.Points(4)
		for _, line := range b.caption {
			dc.FillText(captionStyle, vg.Point{X: sideMargin + vg.Points(4), Y: y}, line)
			y -= lineH
		}
		if pn.cbar != nil {
			drawColorBar(dc, pn.cbar, vg.Rectangle{
				Min: vg.Point{X: sideMargin + 0.8*vg.Inch, Y: y - cbarBlock},
				Max: vg.Point{X: figWidth - sideMargin - 0.8*vg.Inch, Y: y},
			})
			y -= cbarBlock
		}
		x := sideMargin + vg.Points(4)
		for _, l := range b.legends {
			r := l.Rectangle(draw.Canvas{})
			lc := draw.Canvas{Canvas: cw, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - b.legendH},
				Max: vg.Point{X: x + r.Max.X - r.Min.X, Y: y},
			}}
			l.Draw(lc)
			x += r.Max.X - r.Min.X + vg.Points(14)
		}
		top -= b.height
	}
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawColorBar draws the scale as a horizontal bar in the top part of r,
// with step ticks under it and "training step" under them.
func drawColorBar(c draw.Canvas, s *stepScale, r vg.Rectangle) {
	barTop := r.Max.Y - vg.Points(4)
	barBot := barTop - cbarHeight
	const n = 96
	w := (r.Max.X - r.Min.X) / n
	for k := 0; k < n; k++ {
		x0 := r.Min.X + w*vg.Length(k)
		v := s.min + (s.max-s.min)*(float64(k)+0.5)/n
		c.FillPolygon(s.color(v), []vg.Point{{X: x0, Y: barBot}, {X: x0 + w + 1, Y: barBot}, {X: x0 + w + 1, Y: barTop}, {X: x0, Y: barTop}})
	}
	st := captionStyle
	st.Color = color.Black
	st.XAlign = draw.XCenter
	tick := draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	lo, hi := s.min, s.max
	if !(hi > lo) {
		hi = lo + 1
	}
	for _, t := range (niceTicks{n: 6, integer: true}).Ticks(lo, hi) {
		if t.Label == "" {
			continue
		}
		x := r.Min.X + (r.Max.X-r.Min.X)*vg.Length((t.Value-lo)/(hi-lo))
		c.StrokeLine2(tick, x, barBot, x, barBot-vg.Points(3))
		c.FillText(st, vg.Point{X: x, Y: barBot - vg.Points(4)}, t.Label)
	}
	c.FillText(st, vg.Point{X: (r.Min.X + r.Max.X) / 2, Y: barBot - vg.Points(captionPt+8)}, "training step (point colour)")
}
