package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entrolab/entrolab/plots"
)

// FuzzReadNumber: readNumber takes exactly the JSON numbers numberEnd
// takes, ends where it ends, and gives strconv.ParseFloat's value, bit for
// bit (its fast path must round as ParseFloat does).
func FuzzReadNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "0.1", "0.6046602879796196", "0.12345678901234567", "9007199254740993",
		"1e22", "1e23", "123456789e-22", "1.5e-300", "1e400", "-1e-400", "0.000001234", "00", "1.", "-", "1e", "1x",
		"12345678901234567890123", "0.0000000000000000000000000001", "4.35}", "7,", "1E+2 ", "1e-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b := []byte(in)
		if len(b) == 0 {
			return
		}
		v, end, ok := readNumber(b, 0)
		wantEnd, wantOK := numberEnd(b, 0)
		if ok != wantOK || ok && end != wantEnd {
			t.Fatalf("%q: end %d ok %v, numberEnd %d %v", in, end, ok, wantEnd, wantOK)
		}
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(in[:end], 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			t.Fatalf("%q: ParseFloat: %v", in[:end], err)
		}
		if math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("%q: %v (%x), ParseFloat %v (%x)", in[:end], v, math.Float64bits(v), want, math.Float64bits(want))
		}
	})
}

// TestReadNumberFloats: readNumber reads the way Go, Python and PyTorch
// write metrics (shortest round-trip digits, fixed and exponent forms,
// fewer digits) exactly as strconv.ParseFloat does, for many random
// values of every magnitude a metric has.
func TestReadNumberFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(30)-15))
		if i%2 == 1 {
			v = -v
		}
		check := func(in string) { t.Helper(); checkReadNumber(t, in) }
		for _, in := range []string{strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(v, 'f', -1, 64),
			strconv.FormatFloat(v, 'e', -1, 64), strconv.FormatFloat(v, 'g', 1+i%19, 64), strconv.FormatFloat(v, 'f', i%20, 64)} {
			check(in)
		}
		// decimals of 17 to 19 digits next to the midpoint between v and
		// the float64 above it: where rounding is decided by the last bits
		x := math.Abs(v)
		mid := new(big.Float).SetPrec(256).SetFloat64(x)
		mid.Add(mid, new(big.Float).SetPrec(256).SetFloat64((math.Nextafter(x, math.Inf(1))-x)/2))
		for _, digits := range []int{16, 17, 18} {
			check(mid.Text('e', digits))
		}
		// exact ties: a large float's midpoint is an integer; with ".0"
		// it is a 19-digit decimal over 10 (ties go to the even neighbour)
		y := math.Ldexp(1+rng.Float64(), 56+rng.IntN(3))
		m := new(big.Float).SetPrec(256).SetFloat64(y)
		m.Add(m, new(big.Float).SetPrec(256).SetFloat64((math.Nextafter(y, math.Inf(1))-y)/2))
		check(m.Text('f', 1))
	}
}

func checkReadNumber(t *testing.T, in string) {
	t.Helper()
	got, end, ok := readNumber([]byte(in+","), 0)
	want, err := strconv.ParseFloat(in, 64)
	if !ok || end != len(in) || err != nil || math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("%s: %v (end %d ok %v), ParseFloat %v (%v)", in, got, end, ok, want, err)
	}
}

// TestReadRunChunks: a first load read in chunks of any size (lines cut at
// every place, a line longer than the chunk, an unterminated last line)
// gives what parseMetrics gives for the whole file, and its offset is just
// past the last newline.
func TestReadRunChunks(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 40, 100, false)
	path := filepath.Join(dir, plots.MetricsFile)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var long strings.Builder
	long.WriteString(`{"step":41,"data":{`)
	for i := range 300 {
		fmt.Fprintf(&long, `"k/%04d":%d,`, i, i)
	}
	long.WriteString(`"z":1}}` + "\n")
	f.WriteString(long.String())
	f.WriteString(`{"step":42,"data":{"actor/entropy":0.25}}` + "\n" + `{"step":43,"data":{"actor/entropy":0.2}}`)
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := parseMetrics(b)
	s, _ := newTestServer(t, root)
	defer func(c int64) { readChunk = c }(readChunk)
	for _, chunk := range []int64{1, 7, 64, 1000, 1 << 20} {
		readChunk = chunk
		got, off, err := s.readRun("a-s1", dir, int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if wantOff := int64(strings.LastIndexByte(string(b), '\n') + 1); off != wantOff {
			t.Errorf("chunk %d: offset %d, want %d", chunk, off, wantOff)
		}
		if got.Lines != want.Lines || got.Skipped != want.Skipped || len(got.Keys()) != len(want.Keys()) {
			t.Errorf("chunk %d: lines %d skipped %d keys %d, want %d %d %d", chunk, got.Lines, got.Skipped, len(got.Keys()), want.Lines, want.Skipped, len(want.Keys()))
		}
		for _, k := range want.Keys() {
			if fmt.Sprint(got.Get(k).Steps, got.Get(k).Values) != fmt.Sprint(want.Get(k).Steps, want.Get(k).Values) {
				t.Errorf("chunk %d: %s = %v, want %v", chunk, k, got.Get(k), want.Get(k))
			}
		}
	}
}

// TestCompareMatchesPlot: what the compare page shows for a sweep is what
// `entrolab plot` computes from the same directories with plots.ReadRun:
// the same groups (seeds of one resolved config share a band; a setting
// that differs splits them), the same per-run summaries, the same table,
// and figures byte-identical to plots.RenderFigure of ReadRun's runs
// (thinned alike). The runs hold the 34 keys a GRPO step records, a null,
// a line for a step rewritten by a resume and a line plots must parse
// itself (out of order keys).
func TestCompareMatchesPlot(t *testing.T) {
	root := t.TempDir()
	type cell struct {
		name string
		seed int
		lr   string
	}
	cells := []cell{{"grpo_addition", 1, "0.001"}, {"grpo_addition", 2, "0.001"}, {"grpo_addition", 3, "0.001"},
		{"grpo_addition", 1, "0.002"}, {"grpo_addition", 2, "0.002"}, {"aent_addition", 1, "0.001"}}
	const steps = 1600 // over figurePoints(6): the figures are thinned
	var ids []string
	for i, c := range cells {
		id := fmt.Sprintf("sw/%s-lr%s-s%d", c.name, c.lr, c.seed)
		ids = append(ids, id)
		dir := filepath.Join(root, filepath.FromSlash(id))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, plots.ConfigFile), []byte(fmt.Sprintf("name: %s\nseed: %d\ntask:\n  name: addition\noptim:\n  lr: %s\ntrain:\n  steps: %d\n", c.name, c.seed, c.lr, steps)), 0o644)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		var m strings.Builder
		for s := 1; s <= steps; s++ {
			fmt.Fprintf(&m, `{"step":%d,"data":{`, s)
			for j, k := range benchKeys {
				if j > 0 {
					m.WriteByte(',')
				}
				switch {
				case k == plots.KeyEntropy:
					fmt.Fprintf(&m, `%q:%v`, k, 1.5*math.Exp(-float64(s)/400)+0.1*rng.Float64())
				case k == plots.KeyReward:
					fmt.Fprintf(&m, `%q:%v`, k, 1-math.Exp(-float64(s)/300)+0.1*rng.Float64())
				case k == plots.KeyClipfrac && s == 40:
					fmt.Fprintf(&m, `%q:null`, k)
				default:
					fmt.Fprintf(&m, `%q:%v`, k, rng.Float64()*float64(j+1))
				}
			}
			if s%25 == 0 {
				fmt.Fprintf(&m, `,"val/accuracy":%v`, float64(s)/steps*rng.Float64())
			}
			m.WriteString("}}\n")
			if s == 700 { // a resume rewrites steps 650..700; plots' own form for one line
				fmt.Fprintf(&m, `{"data":{"critic/score/mean":0.25,"actor/entropy":0.5},"step":650}`+"\n")
			}
		}
		os.WriteFile(filepath.Join(dir, plots.MetricsFile), []byte(m.String()), 0o644)
	}
	sort.Strings(ids) // the order a sweep's runs are listed in
	var want []*plots.Run
	for _, id := range ids {
		r, err := plots.ReadRun(filepath.Join(root, filepath.FromSlash(id)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	s, ts := newTestServer(t, root)
	got, _, missing := s.loadRuns(ids)
	if len(missing) > 0 || len(got) != len(want) {
		t.Fatalf("loaded %d runs, missing %v", len(got), missing)
	}
	for i := range want {
		if g, w := fmt.Sprintf("%+v", plots.Summarize(got[i:i+1])), fmt.Sprintf("%+v", plots.Summarize(want[i:i+1])); g != w {
			t.Errorf("%s: summary\n%s\nwant\n%s", ids[i], g, w)
		}
	}
	label := func(runs []*plots.Run) (out []string) {
		for _, g := range plots.GroupRuns(runs) {
			out = append(out, fmt.Sprintf("%s:%d", g.Label(), len(g.Runs)))
		}
		return out
	}
	if g, w := label(got), label(want); fmt.Sprint(g) != fmt.Sprint(w) || len(w) != 3 {
		t.Errorf("groups %v, want plot's %v (3 bands)", g, w)
	}
	byID := func(runs []*plots.Run) map[*plots.Run]string {
		m := map[*plots.Run]string{}
		for i, r := range runs {
			m[r] = ids[i]
		}
		return m
	}
	if g, w := fmt.Sprintf("%+v", s.compareRows(got, byID(got))), fmt.Sprintf("%+v", s.compareRows(want, byID(want))); g != w {
		t.Errorf("compare table\n%s\nwant (from plots.ReadRun)\n%s", g, w)
	}
	_, page := get(t, ts, "/compare?sweep=sw")
	if !strings.Contains(page, "one point every 2 steps") {
		t.Errorf("the compare page does not say its figures are thinned")
	}
	for _, name := range plots.FigureNames() {
		code, svg := get(t, ts, "/fig?sweep=sw&name="+name)
		thinned := make([]*plots.Run, len(want))
		for i, r := range want {
			thinned[i], _ = thin(r, figurePoints(len(want)))
		}
		w, err := plots.RenderFigure(name, thinned, "svg")
		if errors.Is(err, plots.ErrNoData) && code == 404 {
			continue
		}
		if err != nil || code != 200 || svg != string(w) {
			t.Errorf("figure %s: %d, %d bytes; plots.RenderFigure of ReadRun's runs: %d bytes (%v)", name, code, len(svg), len(w), err)
		}
	}
}

// TestSkipDigits: skipDigits stops where a byte-by-byte scan stops, for
// every byte value at every place in a run of digits.
func TestSkipDigits(t *testing.T) {
	for n := range 20 {
		for at := 0; at <= n; at++ {
			for c := range 256 {
				b := []byte(strings.Repeat("7", n))
				if at < n {
					b[at] = byte(c)
				}
				want := 0
				for want < len(b) && b[want] >= '0' && b[want] <= '9' {
					want++
				}
				if got := skipDigits(b, 0); got != want {
					t.Fatalf("%q: %d, want %d", b, got, want)
				}
			}
		}
	}
}

// TestEightDigits: the eight-byte digit test and value agree with a byte
// by byte reading.
func TestEightDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		var b [8]byte
		for j := range b {
			b[j] = '0' + byte(rng.IntN(10))
			if rng.IntN(20) == 0 {
				b[j] = byte(rng.IntN(256))
			}
		}
		x := binary.LittleEndian.Uint64(b[:])
		want, err := strconv.ParseUint(string(b[:]), 10, 64)
		all := err == nil && !strings.ContainsAny(string(b[:]), "+-")
		if eightDigits(x) != all || all && parseEight(x) != want {
			t.Fatalf("%q: digits %v value %d, want %v %d", b, eightDigits(x), parseEight(x), all, want)
		}
	}
}

// TestDerivedFreed: the summary rows and thinned copies of a growing run's
// earlier versions go with them (kept by weak pointers), and are not
// recomputed for the current one.
func TestDerivedFreed(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 3000, 5000, false)
	s, _ := newTestServer(t, root)
	for step := 3001; step <= 3020; step++ {
		r, _, err := s.loadRun("a-s1")
		if err != nil {
			t.Fatal(err)
		}
		s.summaryRow(r)
		if th, k := s.thinned(r, figurePoints(1)); k < 2 || th == r {
			t.Fatalf("thinned k = %d", k)
		}
		f, _ := os.OpenFile(filepath.Join(dir, plots.MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
		fmt.Fprintf(f, `{"step":%d,"data":{"actor/entropy":0.5}}`+"\n", step)
		f.Close()
		os.Chtimes(filepath.Join(dir, plots.MetricsFile), time.Now(), time.Now().Add(time.Duration(step)*time.Second))
	}
	r, _, _ := s.loadRun("a-s1")
	if r.Get("actor/entropy").Len() != 3020 {
		t.Fatalf("%d points", r.Get("actor/entropy").Len())
	}
	row := s.summaryRow(r)
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		runtime.GC()
		s.mu.Lock()
		n = len(s.derived)
		s.mu.Unlock()
		if n <= 2 {
			break
		}
	}
	if n > 2 {
		t.Errorf("%d runs' derived values kept after 20 versions, want the current one", n)
	}
	if again := s.summaryRow(r); fmt.Sprint(again) != fmt.Sprint(row) {
		t.Errorf("the current run's row changed: %v, was %v", again, row)
	}
	runtime.KeepAlive(r)
}
