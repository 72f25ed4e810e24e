package serve

import (
	"bytes"
	"errors"
	"fmt"
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
	r := &plots.Run{Series: map[string]*plots.Series{}}
	type point struct {
		step int
		v    float64
	}
	raw := map[string]*[]point{}
	add := func(k []byte, step int, v float64) {
		p := raw[string(k)]
		if p == nil {
			p = &[]point{}
			raw[string(k)] = p
		}
		*p = append(*p, point{step, v})
	}
	var scratch []fastPair
	for lineNo := 1; len(b) > 0; lineNo++ {
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
		var step int
		var ok bool
		if step, scratch, ok = fastLine(t, scratch[:0]); ok {
			r.Lines++
			for _, pr := range scratch {
				if !unshown[string(pr.k)] {
					add(pr.k, step, pr.v)
				}
			}
			continue
		}
		one, _ := plots.ParseMetrics(bytes.NewReader(filterMetrics(nil, t)))
		r.Lines += one.Lines
		r.Skipped += one.Skipped
		r.Ignored += one.Ignored
		for _, w := range one.Warnings {
			if len(r.Warnings) < 20 {
				r.Warnings = append(r.Warnings, strings.Replace(w, plots.MetricsFile+":1:", fmt.Sprintf("%s:%d:", plots.MetricsFile, lineNo), 1))
			}
		}
		for k, s := range one.Series {
			for i := range s.Steps {
				add([]byte(k), s.Steps[i], s.Values[i])
			}
		}
	}
	for k, p := range raw {
		pts := *p
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].step < pts[j].step })
		s := &plots.Series{Key: k}
		for i, pt := range pts {
			if i+1 < len(pts) && pts[i+1].step == pt.step {
				continue // a later line rewrote this step
			}
			s.Steps = append(s.Steps, pt.step)
			s.Values = append(s.Values, pt.v)
		}
		r.Series[k] = s
	}
	return r
}

type fastPair struct {
	k []byte
	v float64
}

var nan = func() float64 { v, _ := strconv.ParseFloat("NaN", 64); return v }()

// fastLine reads a line of the plain form; ok is false for anything else
// (then nothing was taken from it).
func fastLine(t []byte, pairs []fastPair) (step int, _ []fastPair, ok bool) {
	if t[0] != '{' {
		return 0, pairs, false
	}
	p := 1
	haveStep, haveData := false, false
	for first := true; ; first = false {
		p = skipSpace(t, p)
		if first && p < len(t) && t[p] == '}' {
			return 0, pairs, false // no step
		}
		ks, ke, ok := plainKey(t, p)
		if !ok {
			return 0, pairs, false
		}
		p = skipSpace(t, ke)
		if p >= len(t) || t[p] != ':' {
			return 0, pairs, false
		}
		p = skipSpace(t, p+1)
		switch string(t[ks:ke]) {
		case `"step"`:
			e, ok := numberEnd(t, p)
			if !ok || haveStep || e-p > 15 || bytes.ContainsAny(t[p:e], ".eE") {
				return 0, pairs, false
			}
			n, err := strconv.Atoi(unsafe.String(&t[p], e-p))
			if err != nil {
				return 0, pairs, false
			}
			step, haveStep, p = n, true, e
		case `"data"`:
			if haveData || p >= len(t) || t[p] != '{' {
				return 0, pairs, false
			}
			haveData = true
			var ok bool
			if p, pairs, ok = fastData(t, p, pairs); !ok {
				return 0, pairs, false
			}
		default:
			return 0, pairs, false
		}
		p = skipSpace(t, p)
		if p < len(t) && t[p] == ',' {
			p++
			continue
		}
		if p == len(t)-1 && t[p] == '}' && haveStep && haveData {
			return step, pairs, true
		}
		return 0, pairs, false
	}
}

// fastData reads the data object at t[p] ('{'): ascending plain keys with
// number or null values.
func fastData(t []byte, p int, pairs []fastPair) (int, []fastPair, bool) {
	p++
	var prev []byte
	for member := 0; ; member++ {
		p = skipSpace(t, p)
		if member == 0 && p < len(t) && t[p] == '}' {
			return p + 1, pairs, true
		}
		ks, ke, ok := plainKey(t, p)
		if !ok {
			return 0, pairs, false
		}
		k := t[ks+1 : ke-1]
		if member > 0 && bytes.Compare(prev, k) >= 0 {
			return 0, pairs, false // unordered or repeated: let ParseMetrics decide
		}
		prev = k
		p = skipSpace(t, ke)
		if p >= len(t) || t[p] != ':' {
			return 0, pairs, false
		}
		p = skipSpace(t, p+1)
		var v float64
		if bytes.HasPrefix(t[p:], []byte("null")) {
			v, p = nan, p+4
		} else {
			e, ok := numberEnd(t, p)
			if !ok {
				return 0, pairs, false
			}
			f, err := strconv.ParseFloat(unsafe.String(&t[p], e-p), 64)
			if err != nil {
				var ne *strconv.NumError
				if !errors.As(err, &ne) || !errors.Is(ne.Err, strconv.ErrRange) {
					return 0, pairs, false
				}
			}
			v, p = f, e
		}
		pairs = append(pairs, fastPair{k, v})
		p = skipSpace(t, p)
		if p < len(t) && t[p] == ',' {
			p++
			continue
		}
		if p < len(t) && t[p] == '}' {
			return p + 1, pairs, true
		}
		return 0, pairs, false
	}
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
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(t) && t[i] == '.' {
		i++
		d := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		d := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	if i < len(t) && !(t[i] == ',' || t[i] == '}' || t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
		return 0, false
	}
	return i, true
}
