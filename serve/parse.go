package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/entrolab/entrolab/plots"
)

// parseMetrics is plots.ParseMetrics for the pages, faster on the lines
// entrolab writes and without the keys no page shows (unshown). A line of
// the plain form {"step": N, "data": {"key": number|null, ...}} (any member
// order, data keys in ascending order, plain ASCII keys, JSON numbers) is
// read here; any other line goes through plots.ParseMetrics, so every line
// counts, parses and wins (a later line for the same step) as it would
// there (FuzzParseMetricsFast checks it). Warnings say the same things with
// the same line numbers; only the first 20 are kept.
func parseMetrics(b []byte) *plots.Run {
	var p metricsParser
	p.feed(b)
	return p.run()
}

// metricsParser is parseMetrics fed in pieces of whole lines (a file read
// in chunks): the same result as parseMetrics of their concatenation.
type metricsParser struct {
	r      plots.Run
	lineNo int
	cols   map[string]*column
	// slots is the data keys of the last plain line in order, each with
	// its column (nil: unshown): lines of one run list the same keys, so
	// a key is mostly recognised by comparing it with the slot's bytes,
	// without a map lookup. slots[i].key is strictly above slots[i-1].key
	// whenever both are set (a slot is cleared when the one before it
	// changes), so a line matching its slots in a row is in ascending order.
	slots   []slot
	scratch []fastPair
	// lines is how many lines the input is expected to hold (0: unknown):
	// the columns of the first line's keys, which a run records every
	// step, are made that large at once instead of growing.
	lines int
}

type slot struct {
	key []byte
	col *column
}

// column collects one key's points in line order; sorted stays true while
// each step is above the last (no reordering or rewrite to resolve).
type column struct {
	steps  []int
	vals   []float64
	sorted bool
}

func (c *column) add(step int, v float64) {
	if n := len(c.steps); n > 0 && step <= c.steps[n-1] {
		c.sorted = false
	}
	c.steps = append(c.steps, step)
	c.vals = append(c.vals, v)
}

func (p *metricsParser) col(k []byte) *column {
	if p.cols == nil {
		p.cols = map[string]*column{}
	}
	c := p.cols[string(k)]
	if c == nil {
		c = &column{sorted: true}
		if p.r.Lines == 0 && p.lines > 0 {
			c.steps, c.vals = make([]int, 0, p.lines), make([]float64, 0, p.lines)
		}
		p.cols[string(k)] = c
	}
	return c
}

// feed parses the lines of b (the last one may lack its newline).
func (p *metricsParser) feed(b []byte) {
	for len(b) > 0 {
		p.lineNo++
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		if step, ok := p.fastLine(t); ok {
			p.r.Lines++
			for _, pr := range p.scratch {
				pr.col.add(step, pr.v)
			}
			continue
		}
		p.slowLine(t)
	}
}

// slowLine is a line of another form, through plots.ParseMetrics.
func (p *metricsParser) slowLine(t []byte) {
	one, _ := plots.ParseMetrics(bytes.NewReader(filterMetrics(nil, t)))
	p.r.Lines += one.Lines
	p.r.Skipped += one.Skipped
	p.r.Ignored += one.Ignored
	for _, w := range one.Warnings {
		if len(p.r.Warnings) < 20 {
			p.r.Warnings = append(p.r.Warnings, strings.Replace(w, plots.MetricsFile+":1:", fmt.Sprintf("%s:%d:", plots.MetricsFile, p.lineNo), 1))
		}
	}
	for k, s := range one.Series {
		c := p.col([]byte(k))
		for i := range s.Steps {
			c.add(s.Steps[i], s.Values[i])
		}
	}
}

// run is the parsed run: each column in step order, a later line winning
// over an earlier one for the same step.
func (p *metricsParser) run() *plots.Run {
	r := p.r
	r.Series = make(map[string]*plots.Series, len(p.cols))
	for k, c := range p.cols {
		if len(c.steps) == 0 {
			continue // met only in lines that did not parse
		}
		s := &plots.Series{Key: k, Steps: c.steps, Values: c.vals}
		if !c.sorted {
			type point struct {
				step int
				v    float64
			}
			pts := make([]point, len(c.steps))
			for i := range pts {
				pts[i] = point{c.steps[i], c.vals[i]}
			}
			sort.SliceStable(pts, func(i, j int) bool { return pts[i].step < pts[j].step })
			s.Steps, s.Values = nil, nil
			for i, pt := range pts {
				if i+1 < len(pts) && pts[i+1].step == pt.step {
					continue // a later line rewrote this step
				}
				s.Steps = append(s.Steps, pt.step)
				s.Values = append(s.Values, pt.v)
			}
		}
		r.Series[k] = s
	}
	return &r
}

type fastPair struct {
	col *column
	v   float64
}

var nan = func() float64 { v, _ := strconv.ParseFloat("NaN", 64); return v }()

// fastLine reads a line of the plain form into p.scratch; ok is false for
// anything else (then nothing was taken from it).
func (p *metricsParser) fastLine(t []byte) (step int, ok bool) {
	p.scratch = p.scratch[:0]
	if t[0] != '{' {
		return 0, false
	}
	i := 1
	haveStep, haveData := false, false
	for first := true; ; first = false {
		i = skipSpace(t, i)
		if first && i < len(t) && t[i] == '}' {
			return 0, false // no step
		}
		ks, ke, ok := plainKey(t, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(t, ke)
		if i >= len(t) || t[i] != ':' {
			return 0, false
		}
		i = skipSpace(t, i+1)
		switch string(t[ks:ke]) {
		case `"step"`:
			e, ok := numberEnd(t, i)
			if !ok || haveStep || e-i > 15 || bytes.ContainsAny(t[i:e], ".eE") {
				return 0, false
			}
			n, err := strconv.Atoi(unsafe.String(&t[i], e-i))
			if err != nil {
				return 0, false
			}
			step, haveStep, i = n, true, e
		case `"data"`:
			if haveData || i >= len(t) || t[i] != '{' {
				return 0, false
			}
			haveData = true
			var ok bool
			if i, ok = p.fastData(t, i); !ok {
				return 0, false
			}
		default:
			return 0, false
		}
		i = skipSpace(t, i)
		if i < len(t) && t[i] == ',' {
			i++
			continue
		}
		if i == len(t)-1 && t[i] == '}' && haveStep && haveData {
			return step, true
		}
		return 0, false
	}
}

// fastData reads the data object at t[i] ('{'): ascending plain keys with
// number or null values. Values of unshown keys are checked, not parsed.
func (p *metricsParser) fastData(t []byte, i int) (int, bool) {
	i++
	var prev []byte
	prevHit := false // the previous member matched its slot
	for member := 0; ; member++ {
		i = skipSpace(t, i)
		if member == 0 && i < len(t) && t[i] == '}' {
			return i + 1, true
		}
		if member == len(p.slots) {
			p.slots = append(p.slots, slot{})
		}
		sl := &p.slots[member]
		// the slot's key (plain: no quote or backslash in it) and then a
		// quote is this key exactly, with no need to scan it
		var k []byte
		hit := false
		ke := i + 2 + len(sl.key)
		if sl.key != nil && ke <= len(t) && t[i] == '"' && t[ke-1] == '"' && sameKey(t[i+1:ke-1], sl.key) {
			k, hit = t[i+1:ke-1], true
		} else {
			ks, e, ok := plainKey(t, i)
			if !ok {
				return 0, false
			}
			k, ke = t[ks+1:e-1], e
		}
		if member > 0 && !(hit && prevHit) && bytes.Compare(prev, k) >= 0 {
			return 0, false // unordered or repeated: let ParseMetrics decide
		}
		if !hit {
			var c *column
			if !unshown[string(k)] {
				c = p.col(k)
			}
			*sl = slot{key: append([]byte(nil), k...), col: c}
			if member+1 < len(p.slots) {
				p.slots[member+1].key = nil
			}
		}
		prev, prevHit = k, hit
		i = skipSpace(t, ke)
		if i >= len(t) || t[i] != ':' {
			return 0, false
		}
		i = skipSpace(t, i+1)
		var v float64
		if i < len(t) && t[i] == 'n' && bytes.HasPrefix(t[i:], []byte("null")) {
			v, i = nan, i+4
		} else if sl.col == nil {
			e, ok := numberEnd(t, i)
			if !ok {
				return 0, false
			}
			i = e
		} else {
			var ok bool
			if v, i, ok = readNumber(t, i); !ok {
				return 0, false
			}
		}
		if sl.col != nil {
			p.scratch = append(p.scratch, fastPair{sl.col, v})
		}
		i = skipSpace(t, i)
		if i < len(t) && t[i] == ',' {
			i++
			continue
		}
		if i < len(t) && t[i] == '}' {
			return i + 1, true
		}
		return 0, false
	}
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u are the powers of ten a uint64 holds.
var pow10u = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// quotient is n/d rounded to the nearest float64 (ties to even), as
// ParseFloat rounds the decimal n·10^-k when d is 10^k: the 64-bit
// quotient of n·2^s by d, s chosen so that it has 64 significant bits,
// is rounded to 53 with the remainder as the sticky bit. ok is false for
// n = 0 (no quotient to normalise).
func quotient(n, d uint64) (float64, bool) {
	if n == 0 {
		return 0, false
	}
	s := 63 - bits.Len64(n) + bits.Len64(d)
	hi, lo := shl128(n, s)
	q, r := bits.Div64(hi, lo, d)
	if q < 1<<63 {
		s++
		hi, lo = shl128(n, s)
		q, r = bits.Div64(hi, lo, d)
	}
	m, rest := q>>11, q&(1<<11-1)
	if rest > 1<<10 || rest == 1<<10 && (r != 0 || m&1 == 1) {
		m++
	}
	return math.Ldexp(float64(m), 11-s), true
}

// shl128 is n << s as a 128-bit number (s < 128).
func shl128(n uint64, s int) (hi, lo uint64) {
	switch {
	case s == 0:
		return 0, n
	case s < 64:
		return n >> (64 - s), n << s
	default:
		return n << (s - 64), 0
	}
}

// readNumber parses the JSON number at t[i] (strict grammar, then a
// delimiter, as numberEnd) in one pass and returns its value as
// strconv.ParseFloat does (a value out of range is ±Inf or 0, as there).
// A mantissa of at most 2^53 with a power of ten up to 22 is exact in a
// float64 and one multiplication or division rounds correctly (Clinger's
// fast path, which strconv takes too); a longer mantissa (up to 19 digits)
// over 10^k, k up to 19, is divided exactly in integers (quotient: the
// 17-digit decimals Go writes for a third of all float64s); anything else
// goes to ParseFloat. FuzzReadNumber checks every result bit for bit.
func readNumber(t []byte, i int) (float64, int, bool) {
	p := i
	neg := false
	if i < len(t) && t[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	nd, exp := 0, 0 // significant digits taken; power of ten of the last
	exact := true   // every significant digit is in mant
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case i < len(t) && t[i] >= '1' && t[i] <= '9':
		for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
			if nd < 19 {
				mant = mant*10 + uint64(t[i]-'0')
				nd++
			} else {
				exact = false
			}
		}
	default:
		return 0, 0, false
	}
	if i < len(t) && t[i] == '.' {
		i++
		d := i
		// eight digits at a time while they fit in mant (leading zeros
		// counted as digits here: only ever sends a number to ParseFloat)
		for nd+8 <= 19 && i+8 <= len(t) {
			x := binary.LittleEndian.Uint64(t[i:])
			if !eightDigits(x) {
				break
			}
			mant = mant*100000000 + parseEight(x)
			nd, exp, i = nd+8, exp-8, i+8
		}
		for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
			switch {
			case mant == 0 && t[i] == '0':
				exp-- // a leading zero
			case nd < 19:
				mant = mant*10 + uint64(t[i]-'0')
				nd++
				exp--
			default:
				exact = false
			}
		}
		if i == d {
			return 0, 0, false
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		sign := 1
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			if t[i] == '-' {
				sign = -1
			}
			i++
		}
		d, e := i, 0
		for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
			if e < 100000 {
				e = e*10 + int(t[i]-'0')
			}
		}
		if i == d {
			return 0, 0, false
		}
		exp += sign * e
	}
	if i < len(t) && !(t[i] == ',' || t[i] == '}' || t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
		return 0, 0, false
	}
	if exact && (mant == 0 || mant <= 1<<53 && exp >= -22 && exp <= 22) {
		f := float64(mant)
		switch {
		case mant == 0:
		case exp < 0:
			f /= pow10[-exp]
		default:
			f *= pow10[exp]
		}
		if neg {
			f = -f
		}
		return f, i, true
	}
	if exact && exp < 0 && exp >= -19 {
		if f, ok := quotient(mant, pow10u[-exp]); ok {
			if neg {
				f = -f
			}
			return f, i, true
		}
	}
	f, err := strconv.ParseFloat(unsafe.String(&t[p], i-p), 64)
	if err != nil {
		var ne *strconv.NumError
		if !errors.As(err, &ne) || !errors.Is(ne.Err, strconv.ErrRange) {
			return 0, 0, false
		}
	}
	return f, i, true
}

// plainKey is a JSON string at p of printable ASCII without escapes.
func plainKey(t []byte, p int) (int, int, bool) {
	if p >= len(t) || t[p] != '"' {
		return 0, 0, false
	}
	for i := p + 1; i < len(t); i++ {
		switch c := t[i]; {
		case c == '"':
			return p, i + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// sameKey is bytes.Equal for the short keys of a metrics line, a word at
// a time without a call.
func sameKey(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if binary.LittleEndian.Uint64(a[i:]) != binary.LittleEndian.Uint64(b[i:]) {
			return false
		}
	}
	for ; i < len(a); i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// eightDigits reports whether the eight bytes of x (little-endian) are
// all ASCII digits.
func eightDigits(x uint64) bool {
	return (x&0xF0F0F0F0F0F0F0F0)|(((x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) == 0x3333333333333333
}

// parseEight is the value of the eight ASCII digits in x, the first digit
// in the lowest byte: pairs, then quadruples, then the eight are combined
// by multiplications.
func parseEight(x uint64) uint64 {
	x = (x & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
	x = (x & 0x00FF00FF00FF00FF) * 6553601 >> 16
	return (x & 0x0000FFFF0000FFFF) * 42949672960001 >> 32
}

// skipDigits is the index of the first byte at or after i that is not an
// ASCII digit, found eight bytes at a time: in each byte (its low seven
// bits; a high bit set is no digit) adding 0x50 sets the high bit from '0'
// up and adding 0x46 from ':' up, with no carry between bytes.
func skipDigits(t []byte, i int) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(t) {
		x := binary.LittleEndian.Uint64(t[i:])
		low := x &^ high
		nondigit := (^(low + 0x50*ones) | (low + 0x46*ones) | x) & high
		if nondigit != 0 {
			return i + bits.TrailingZeros64(nondigit)/8
		}
		i += 8
	}
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return i
}

// numberEnd is the end of the JSON number at p (strict grammar), and then
// a delimiter must follow.
func numberEnd(t []byte, p int) (int, bool) {
	i := p
	if i < len(t) && t[i] == '-' {
		i++
	}
	switch {
	case i < len(t) && t[i] == '0':
		i++
	case i < len(t) && t[i] >= '1' && t[i] <= '9':
		i = skipDigits(t, i+1)
	default:
		return 0, false
	}
	if i < len(t) && t[i] == '.' {
		d := i + 1
		if i = skipDigits(t, d); i == d {
			return 0, false
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		d := i
		if i = skipDigits(t, d); i == d {
			return 0, false
		}
	}
	if i < len(t) && !(t[i] == ',' || t[i] == '}' || t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
		return 0, false
	}
	return i, true
}
