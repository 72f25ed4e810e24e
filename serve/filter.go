package serve

import (
	"bytes"
	"encoding/json"
	"strings"
)

// unshown are metric keys no page figure or table reads and that a run
// records every step; they are dropped before parsing to make a first load
// of a long run cheaper. Every other key is kept, so a figure reading a key
// added later still gets it (TestFilterKeepsFigures checks that the figures
// come out byte-identical).
var unshown = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`actor/grad_norm actor/lr actor/pg_loss actor/pg_loss_total actor/ppo_kl actor/sampled_nll
		critic/advantages/max critic/advantages/mean critic/advantages/min critic/rewards/max
		critic/rewards/mean critic/rewards/min critic/score/max critic/score/min entropy/delta_corr frac_reward_zero_std
		perf/throughput response_length/clip_ratio rollout/logp_mismatch_max timing_s/adv timing_s/diagnostic
		timing_s/gen timing_s/update timing_s/eval`) {
		unshown[k] = true
	}
}

// filterMetrics copies metrics lines, dropping the unshown keys from each
// line's "data" object. A line it does not fully understand is copied
// unchanged, so plots.ParseMetrics judges it as it would the original.
func filterMetrics(dst, src []byte) []byte {
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		line := src
		if i >= 0 {
			line, src = src[:i+1], src[i+1:]
		} else {
			src = nil
		}
		if out, ok := filterLine(dst, line); ok {
			dst = out
		} else {
			dst = append(dst, line...)
		}
	}
	return dst
}

// filterLine appends line without the unshown keys of its top-level "data"
// object; ok is false (dst unchanged in length meaning) when line is not a
// plain JSON object.
func filterLine(dst, line []byte) ([]byte, bool) {
	start := len(dst)
	p := skipSpace(line, 0)
	if p >= len(line) || line[p] != '{' {
		return dst[:start], false
	}
	dst = append(dst, line[:p+1]...)
	p++
	for first := true; ; first = false {
		p = skipSpace(line, p)
		if first && p < len(line) && line[p] == '}' {
			dst = append(dst, line[p:]...)
			return dst, true
		}
		ks, ke, ok := scanString(line, p)
		if !ok {
			return dst[:start], false
		}
		q := skipSpace(line, ke)
		if q >= len(line) || line[q] != ':' {
			return dst[:start], false
		}
		vs := skipSpace(line, q+1)
		ve, ok := skipValue(line, vs)
		if !ok {
			return dst[:start], false
		}
		if string(line[ks:ke]) == `"data"` && line[vs] == '{' {
			dst = append(dst, line[p:vs]...)
			var ok bool
			if dst, ok = filterData(dst, line[vs:ve]); !ok {
				return dst[:start], false
			}
		} else {
			dst = append(dst, line[p:ve]...)
		}
		p = skipSpace(line, ve)
		if p < len(line) && line[p] == ',' {
			dst = append(dst, ',')
			p++
			continue
		}
		if p < len(line) && line[p] == '}' {
			dst = append(dst, line[p:]...)
			return dst, true
		}
		return dst[:start], false
	}
}

// filterData appends the object obj without its unshown members.
func filterData(dst, obj []byte) ([]byte, bool) {
	dst = append(dst, '{')
	p, first := 1, true
	for member := 0; ; member++ {
		p = skipSpace(obj, p)
		if member == 0 && p < len(obj) && obj[p] == '}' {
			return append(dst, '}'), true
		}
		ks, ke, ok := scanString(obj, p)
		if !ok {
			return dst, false
		}
		q := skipSpace(obj, ke)
		if q >= len(obj) || obj[q] != ':' {
			return dst, false
		}
		ve, ok := skipValue(obj, skipSpace(obj, q+1))
		if !ok {
			return dst, false
		}
		key, val := obj[ks+1:ke-1], obj[skipSpace(obj, q+1):ve]
		if bytes.IndexByte(key, '\\') >= 0 || !unshown[string(key)] || !droppable(val) {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, obj[ks:ve]...)
			first = false
		}
		p = skipSpace(obj, ve)
		if p < len(obj) && obj[p] == ',' {
			p++
			continue
		}
		if p < len(obj) && obj[p] == '}' {
			return append(dst, '}'), true
		}
		return dst, false
	}
}

func skipSpace(b []byte, p int) int {
	if p < len(b) && b[p] > ' ' { // the common case: no space (all four are ≤ ' ')
		return p
	}
	for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r' || b[p] == '\n') {
		p++
	}
	return p
}

// scanString returns the bounds of the JSON string starting at p, quotes
// included.
func scanString(b []byte, p int) (int, int, bool) {
	if p >= len(b) || b[p] != '"' {
		return 0, 0, false
	}
	for i := p + 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return p, i + 1, true
		}
	}
	return 0, 0, false
}

// skipValue returns the end of the JSON value starting at p: a string, an
// object or array (nesting followed, strings respected), or a bare scalar
// (number, literal, or Python's NaN / Infinity).
func skipValue(b []byte, p int) (int, bool) {
	if p >= len(b) {
		return 0, false
	}
	switch b[p] {
	case '"':
		_, e, ok := scanString(b, p)
		return e, ok
	case '{', '[':
		depth := 0
		for i := p; i < len(b); i++ {
			switch b[i] {
			case '"':
				_, e, ok := scanString(b, i)
				if !ok {
					return 0, false
				}
				i = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	}
	i := p
	for i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= 'A' && b[i] <= 'Z' || b[i] >= '0' && b[i] <= '9' || b[i] == '-' || b[i] == '+' || b[i] == '.') {
		i++
	}
	return i, i > p
}

// droppable reports whether a value can be left out without changing
// whether its line parses: a valid JSON scalar or string, or one of the
// bare NaN / Infinity / -Infinity tokens plots accepts. Anything else is
// kept for plots.ParseMetrics to judge.
func droppable(v []byte) bool {
	if len(v) == 0 || v[0] == '{' || v[0] == '[' {
		return false
	}
	switch string(v) {
	case "NaN", "Infinity", "-Infinity":
		return true
	}
	return json.Valid(v)
}
