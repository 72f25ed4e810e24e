package serve

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
