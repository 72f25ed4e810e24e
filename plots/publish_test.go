package plots

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/metric"
)

// writeSynthRun writes a hand-made run of steps steps into dir: entropy
// decaying from 1.2 at a method-dependent rate, reward rising as the fit
// R = −a·exp(H) + b says, noisy entropy changes whose prediction tracks the
// measurement, a few NaNs, every key the figures draw, and val/* at step 0,
// every 50 steps and the last. Returns the run as ReadRun gives it.
func writeSynthRun(t testing.TB, dir, method string, seed, steps int) *Run {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rate := map[string]float64{"grpo": 3, "clip_cov": 1.2, "kl_cov": 1.8}[method]
	if rate == 0 {
		rate = 2
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(len(method))))
	cfg := fmt.Sprintf("name: %s_addition\nseed: %d\nalgorithm:\n  loss:\n    name: %s\n", method, seed, method)
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	val := func(step int, d map[string]any) {
		acc := 0.4 + 0.3*float64(step)/float64(steps) + 0.02*rng.NormFloat64()
		d["val/accuracy"] = acc
		for _, k := range []int{1, 2, 4, 8} {
			d[fmt.Sprintf("val/pass@%d", k)] = 1 - math.Pow(1-acc, float64(k)*(1-0.3*float64(step)/float64(steps)))
		}
	}
	d0 := map[string]any{}
	val(0, d0)
	enc.Encode(map[string]any{"step": 0, "data": d0})
	h := 1.2
	for s := 1; s <= steps; s++ {
		pred := -rate * h / float64(steps) * (1 + 0.5*rng.NormFloat64())
		act := pred + 0.4*math.Abs(pred)*rng.NormFloat64()
		h = math.Max(0.05, h+act)
		rw := -0.3*math.Exp(h) + 1.2 + 0.05*rng.NormFloat64()
		d := map[string]any{
			metric.Entropy: h, metric.ScoreMean: rw, metric.Accuracy: math.Max(0, rw-0.1),
			metric.PredictedDelta: pred, metric.ActualDelta: act,
			metric.PGClipfrac: 0.01 + 0.005*rng.Float64(), metric.PGClipfracLow: 0.001 * rng.Float64(),
			metric.RespLenMean: 6 + rng.Float64(), metric.RespLenMin: 3.0, metric.RespLenMax: 9.0,
			metric.EntropyCoef: 0.01 * (1 + float64(s)/float64(steps)), metric.StepTime: 0.5,
		}
		if s%97 == 0 {
			d[metric.Entropy] = "NaN" // a gap, never joined across
			d[metric.PredictedDelta] = nil
		}
		if s%50 == 0 || s == steps {
			val(s, d)
		}
		enc.Encode(map[string]any{"step": s, "data": d})
	}
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// synthRuns is three methods × seeds runs of steps steps.
func synthRuns(t testing.TB, seeds, steps int) []*Run {
	root := t.TempDir()
	var runs []*Run
	for _, m := range []string{"grpo", "clip_cov", "kl_cov"} {
		for s := 1; s <= seeds; s++ {
			runs = append(runs, writeSynthRun(t, filepath.Join(root, fmt.Sprintf("%s-s%d", m, s)), m, s, steps))
		}
	}
	return runs
}

// TestPublishFigures renders every figure of 600-step runs (one run, and
// three methods × two seeds, raw and smoothed) as PNG and SVG and checks
// each file decodes. ENTROLAB_FIGURES=DIR keeps the PNGs there to look at.
func TestPublishFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 600-step figures")
	}
	runs := synthRuns(t, 2, 600)
	keepDir := os.Getenv("ENTROLAB_FIGURES")
	for _, tc := range []struct {
		name   string
		runs   []*Run
		smooth int
	}{{"one", runs[:1], 0}, {"seeds", runs, 0}, {"seeds_smooth", runs, 15}} {
		var rs []*Run
		for _, r := range tc.runs {
			rs = append(rs, Smooth(r, tc.smooth))
		}
		for _, format := range []string{"png", "svg"} {
			if (format == "svg") != (tc.name == "seeds") {
				continue // one SVG case is enough to check the encoding
			}
			dir := t.TempDir()
			if keepDir != "" && format == "png" {
				dir = filepath.Join(keepDir, tc.name)
			}
			paths, err := WriteAll(dir, rs, format)
			if err != nil {
				t.Fatalf("%s: WriteAll(%s): %v", tc.name, format, err)
			}
			if len(paths) != len(FigureNames()) {
				t.Errorf("%s: %d figures, want all %d", tc.name, len(paths), len(FigureNames()))
			}
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil || len(b) == 0 {
					t.Fatalf("%s: %v (%d bytes)", p, err, len(b))
				}
				if format == "png" {
					if _, err := png.Decode(bytes.NewReader(b)); err != nil {
						t.Errorf("%s: %v", p, err)
					}
					continue
				}
				dec := xml.NewDecoder(bytes.NewReader(b))
				for {
					if _, err := dec.Token(); err == io.EOF {
						break
					} else if err != nil {
						t.Errorf("%s: not valid XML: %v", p, err)
						break
					}
				}
			}
		}
	}
}

// TestAxisLabelsFromMetricTable builds every figure from runs that record
// every key the figures draw and checks each panel's axis labels: the
// metric table's Axis for a metric, or one of the few labels that name no
// metric (step, k, the rolling correlation) — never a raw metric key.
func TestAxisLabelsFromMetricTable(t *testing.T) {
	runs := synthRuns(t, 2, 120)
	table := map[string]bool{}
	for _, d := range metric.Table {
		if d.Axis != "" {
			table[d.Axis] = true
		}
	}
	derived := []string{axisStep, axisK, axisRollingR}
	for _, rs := range [][]*Run{runs[:1], runs} {
		c := newFigCtx(GroupRuns(rs))
		for _, f := range figures {
			panels := f.build(c)
			if len(panels) == 0 {
				t.Errorf("figure %s: no panel", f.name)
			}
			for i, pn := range panels {
				for _, l := range []string{pn.p.X.Label.Text, pn.p.Y.Label.Text} {
					if !table[l] && !slices.Contains(derived, l) {
						t.Errorf("figure %s panel %d: axis label %q is not from the metric table", f.name, i, l)
					}
					if strings.Contains(l, "/") && !strings.Contains(l, " / ") {
						t.Errorf("figure %s panel %d: axis label %q looks like a metric key", f.name, i, l)
					}
				}
			}
		}
	}
}

// TestCaptionsSayBandsAndSmoothing: a figure of seeds says what its bands
// are, a smoothed one its window, a raw one that it is raw; the entropy
// change figure smooths a long run by itself and states the window.
func TestCaptionsSayBandsAndSmoothing(t *testing.T) {
	runs := synthRuns(t, 2, 300)
	caps := func(rs []*Run, fig string) []string {
		for _, f := range figures {
			if f.name == fig {
				var out []string
				for _, pn := range f.build(newFigCtx(GroupRuns(rs))) {
					out = append(out, strings.Join(pn.caption(), " | "))
				}
				return out
			}
		}
		t.Fatalf("no figure %s", fig)
		return nil
	}
	var sm []*Run
	for _, r := range runs {
		sm = append(sm, Smooth(r, 12))
	}
	ent := caps(sm, "entropy")[0]
	if !strings.Contains(ent, BandCaption) || !strings.Contains(ent, "rolling mean over 12 steps") {
		t.Errorf("entropy, seeds smoothed over 12: caption %q", ent)
	}
	if svg, err := RenderFigure("entropy", sm, "svg"); err != nil || !bytes.Contains(svg, []byte("trailing rolling mean over 12 steps")) || !bytes.Contains(svg, []byte("entropy (nats / token)")) {
		t.Errorf("the rendered entropy figure does not state its smoothing and axis in words (%v)", err)
	}
	if one := caps(runs[:1], "entropy")[0]; strings.Contains(one, "CI") || !strings.Contains(one, "raw values") {
		t.Errorf("entropy, one raw run: caption %q", one)
	}
	d := caps(runs[:1], "entropy_delta")
	if len(d) != 3 || !strings.Contains(d[0], "rolling mean over 10 steps") {
		t.Errorf("entropy_delta of a 300-step run: captions %q, want 3 panels, lines smoothed over 10 steps", d)
	}
	if d := caps(sm[:1], "entropy_delta"); !strings.Contains(d[0], "rolling mean over 12 steps") {
		t.Errorf("entropy_delta with --smooth 12: caption %q, want the 12-step window", d[0])
	}
	ev := caps(runs, "entropy_vs_reward")
	if len(ev) != 4 || !strings.Contains(ev[0], "each curve over the entropies") || !strings.Contains(ev[1], "coloured by step") {
		t.Errorf("entropy_vs_reward of 3 methods: %q, want the fits together, then one panel per method coloured by step", ev)
	}
}

// TestPaletteStable: a series keeps its colour in every figure of a set of
// runs, whatever the order of the runs, and distinct series get distinct
// colours.
func TestPaletteStable(t *testing.T) {
	runs := synthRuns(t, 2, 20)
	a := newPalette(GroupRuns(runs))
	rev := slices.Clone(runs)
	slices.Reverse(rev)
	b := newPalette(GroupRuns(rev))
	seen := map[any]string{}
	for k, c := range a {
		if b[k] != c {
			t.Errorf("%s: colour %v, %v with the runs reversed", k, c, b[k])
		}
		if o, ok := seen[c]; ok {
			t.Errorf("%s and %s share colour %v", k, o, c)
		}
		seen[c] = k
	}
	if len(a) != 3 {
		t.Errorf("palette of 3 series has %d entries", len(a))
	}
	// the grpo series alone keeps the colour it had among three
	var grpo []*Run
	for _, r := range runs {
		if r.Name == "grpo_addition" {
			grpo = append(grpo, r)
		}
	}
	g := GroupRuns(grpo)[0]
	if newPalette([]Group{g}).color(g) != a.color(g) {
		t.Error("grpo's colour changed when the other series left")
	}
}
