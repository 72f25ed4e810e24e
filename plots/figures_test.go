package plots

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteAllFigures(t *testing.T) {
	basic := mustRead(t, "basic")
	tests := []struct {
		name string
		runs []*Run
		want []string // figure names expected, in order
	}{
		{"basic", []*Run{basic}, FigureNames()},
		// messy: entropy, reward (-Inf/Inf dropped), entropy_vs_reward (steps 1, 5, 6, 7),
		// clipfrac (one finite point). No deltas, lengths or controllers.
		{"messy", []*Run{mustRead(t, "messy")}, []string{"entropy", "reward", "entropy_vs_reward", "clipfrac"}},
		// single point: entropy_vs_reward has one pair, drawn without a fit.
		{"single", []*Run{mustRead(t, "single")}, []string{"entropy", "reward", "entropy_vs_reward", "response_length", "controllers"}},
		{"empty", []*Run{mustRead(t, "empty")}, nil},
		{"no_runs", nil, nil},
		{"seeds_and_basic", append(readSeeds(t), basic), FigureNames()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := WriteAll(dir, tc.runs, "")
			if err != nil {
				t.Fatalf("WriteAll(%s): %v", tc.name, err)
			}
			var got []string
			for _, p := range paths {
				got = append(got, strings.TrimSuffix(filepath.Base(p), ".png"))
				checkPNG(t, p)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("WriteAll(%s) wrote %v, want %v", tc.name, got, tc.want)
			}
			// Nothing else (no temporary files) is left in the directory.
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(paths) {
				t.Errorf("WriteAll(%s): %d entries in the directory, %d figures", tc.name, len(entries), len(paths))
			}
		})
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: png.Decode: %v", path, err)
	}
	if r := img.Bounds(); r.Dx() < 400 || r.Dy() < 200 {
		t.Errorf("%s: %v, want at least 400x200", path, r)
	}
}

func TestRenderDeterministic(t *testing.T) {
	runs := append(readSeeds(t), mustRead(t, "basic"))
	for _, format := range []string{"png", "svg"} {
		for _, name := range FigureNames() {
			t.Run(format+"/"+name, func(t *testing.T) {
				a, err := RenderFigure(name, runs, format)
				if err != nil {
					t.Fatalf("RenderFigure(%s, %s): %v", name, format, err)
				}
				b, err := RenderFigure(name, runs, format)
				if err != nil {
					t.Fatal(err)
				}
				if len(a) == 0 || !bytes.Equal(a, b) {
					t.Errorf("RenderFigure(%s, %s) twice: %d and %d bytes, not identical", name, format, len(a), len(b))
				}
			})
		}
	}
}

func TestFormats(t *testing.T) {
	runs := []*Run{mustRead(t, "basic")}
	tests := []struct {
		format, ext, magic string
	}{
		{"png", "png", "\x89PNG"},
		{"PNG", "png", "\x89PNG"},
		{".svg", "svg", "<?xml"},
		{"pdf", "pdf", "%PDF"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := WriteAll(dir, runs, tc.format)
			if err != nil || len(paths) != len(FigureNames()) {
				t.Fatalf("WriteAll(%q) = %d paths, %v", tc.format, len(paths), err)
			}
			b, err := os.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Ext(paths[0]) != "."+tc.ext || !bytes.HasPrefix(b, []byte(tc.magic)) {
				t.Errorf("WriteAll(%q) wrote %s starting %q, want .%s starting %q", tc.format, paths[0], b[:min(8, len(b))], tc.ext, tc.magic)
			}
		})
	}
}

func TestUnknownNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	_, err := WriteAll(dir, []*Run{mustRead(t, "basic")}, "jpg")
	if !errors.Is(err, ErrUnknownName) || err.Error() != `plots: unknown format "jpg" (known: pdf, png, svg)` {
		t.Errorf("WriteAll(jpg) err = %v, want the bad format and the known ones", err)
	}
	if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
		t.Errorf("WriteAll(jpg) created %s", dir)
	}
	_, err = RenderFigure("entropies", nil, "png")
	if !errors.Is(err, ErrUnknownName) || !strings.Contains(err.Error(), `"entropies" (known: entropy, reward,`) {
		t.Errorf("RenderFigure(entropies) err = %v", err)
	}
	_, err = RenderFigure("entropy_delta", []*Run{mustRead(t, "messy")}, "png")
	if !errors.Is(err, ErrNoData) {
		t.Errorf("RenderFigure(entropy_delta, messy) err = %v, want ErrNoData", err)
	}
}

func TestWriteFailureLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	// outDir is a regular file: nothing can be written under it.
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteAll(blocker, []*Run{mustRead(t, "basic")}, "png"); err == nil {
		t.Error("WriteAll(into a file) succeeded")
	}
	// A failed write keeps the previous file whole and removes its temp file.
	target := filepath.Join(dir, "sub", "entropy.png")
	if err := writeFileAtomic(target, []byte("new")); err == nil {
		t.Error("writeFileAtomic into a missing directory succeeded")
	}
	if err := writeFileAtomic(filepath.Join(dir, "entropy.png"), []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if err := writeFileAtomic(filepath.Join(dir, "entropy.png"), []byte("new")); err == nil && os.Geteuid() != 0 {
		t.Error("writeFileAtomic into a read-only directory succeeded")
	}
	os.Chmod(dir, 0o755)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "entropy.png")); os.Geteuid() != 0 && string(b) != "old" {
		t.Errorf("entropy.png = %q after a failed write, want the old contents", b)
	}
}

func TestFixRange(t *testing.T) {
	// A figure of a single point, and one of no finite point, must not panic.
	one := &Run{Label: "one", Series: map[string]*Series{
		KeyEntropy: {Key: KeyEntropy, Steps: []int{5}, Values: []float64{0}},
		KeyReward:  {Key: KeyReward, Steps: []int{5}, Values: []float64{1e300}},
	}}
	for _, name := range []string{"entropy", "reward", "entropy_vs_reward"} {
		if _, err := RenderFigure(name, []*Run{one}, "png"); err != nil {
			t.Errorf("RenderFigure(%s, single point): %v", name, err)
		}
	}
	p := newPanel("t", "x", "y")
	p.finish()
	if p.p.X.Min != 0 || p.p.X.Max != 1 {
		t.Errorf("empty axis range = [%v, %v], want [0, 1]", p.p.X.Min, p.p.X.Max)
	}
}

func TestFiniteSegments(t *testing.T) {
	nan := math.NaN()
	x := []float64{1, 2, 3, 4, 5, 6}
	y := []float64{1, nan, 3, 4, nan, 6}
	segs := finiteSegments(x, y)
	// Split at each gap: [1], [3 4], [6]; never joined across a NaN.
	if len(segs) != 3 || len(segs[0]) != 1 || len(segs[1]) != 2 || len(segs[2]) != 1 || segs[1][0].X != 3 {
		t.Errorf("finiteSegments = %v, want [[1] [3 4] [6]]", segs)
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name   string
		tk     niceTicks
		lo, hi float64
		want   []string // labelled ticks
	}{
		{"steps", niceTicks{n: 7, integer: true}, 1, 20, []string{"5", "10", "15", "20"}},
		{"few_steps", niceTicks{n: 7, integer: true}, 99.5, 100.5, []string{"100"}},
		{"unit", niceTicks{n: 6}, 0, 1, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"negative_small", niceTicks{n: 6}, -0.081, -0.079, []string{"-0.0810", "-0.0805", "-0.0800", "-0.0795", "-0.0790"}},
		{"around_zero", niceTicks{n: 6}, -1, 1, []string{"-1.0", "-0.5", "0.0", "0.5", "1.0"}},
		{"empty_range", niceTicks{n: 6}, 1, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tk := range tc.tk.Ticks(tc.lo, tc.hi) {
				if tk.Label != "" {
					got = append(got, tk.Label)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Ticks(%v, %v) labels = %v, want %v", tc.lo, tc.hi, got, tc.want)
			}
		})
	}
}
