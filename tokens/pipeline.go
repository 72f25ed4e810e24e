package tokens

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// pipeline is a general Hugging Face tokenizer.json, run the way the
// tokenizers library runs it: added tokens are cut out of the text first,
// the rest is normalized, pre-tokenized into words, and each word is mapped
// to ids by the model (BPE or WordLevel). Every component this package
// implements is listed in hf.go's parse functions; any other type, and any
// option of a known type that is not implemented, is refused by name.
type pipeline struct {
	raw    []byte // the tokenizer.json as read; Marshal returns it
	norm   []func(string) string
	pre    []preStep
	model  wordModel
	added  []addedTok // longest content first (leftmost-longest matching)
	dec    []decodeStep
	prefix []int // post-processor ids before the sequence ($A)
	suffix []int // and after it
}

// preStep splits each piece into smaller pieces.
type preStep func(pieces []string) []string

// decodeStep maps the token strings of a decode to new strings.
type decodeStep func(toks []string) []string

// wordModel maps one pre-tokenized word to ids.
type wordModel interface {
	appendWord(dst []int, word string) ([]int, error)
}

type addedTok struct {
	content    string
	id         int
	normalized bool // matched in the normalized text
	lstrip     bool
	rstrip     bool
}

// seg is a piece of text, or an added token when id >= 0.
type seg struct {
	text string
	id   int
}

// encode runs the whole pipeline on s (no post-processor).
func (p *pipeline) encode(dst []int, s string) ([]int, error) {
	n := len(dst)
	var err error
	for _, sg := range p.splitAdded([]seg{{s, -1}}, false) { // tokens matched in the raw text
		if sg.id >= 0 {
			dst = append(dst, sg.id)
			continue
		}
		text := sg.text
		for _, f := range p.norm {
			text = f(text)
		}
		for _, in := range p.splitAdded([]seg{{text, -1}}, true) { // and in the normalized text
			if in.id >= 0 {
				dst = append(dst, in.id)
				continue
			}
			if in.text == "" {
				continue
			}
			pieces := []string{in.text}
			for _, st := range p.pre {
				pieces = st(pieces)
			}
			for _, w := range pieces {
				if w == "" {
					continue
				}
				if dst, err = p.model.appendWord(dst, w); err != nil {
					return dst[:n], err
				}
			}
		}
	}
	return dst, nil
}

// splitAdded cuts the added tokens of one kind (normalized or not) out of
// the text segments, leftmost-longest, honouring lstrip/rstrip.
func (p *pipeline) splitAdded(segs []seg, normalized bool) []seg {
	var out []seg
	for _, sg := range segs {
		if sg.id >= 0 {
			out = append(out, sg)
			continue
		}
		s := sg.text
		start := 0 // start of the pending text
		for i := 0; i < len(s); {
			best := -1
			for k, a := range p.added { // longest first
				if a.normalized == normalized && strings.HasPrefix(s[i:], a.content) {
					best = k
					break
				}
			}
			if best < 0 {
				i++
				continue
			}
			a := p.added[best]
			ms, me := i, i+len(a.content)
			if a.lstrip {
				for ms > start {
					r, sz := utf8.DecodeLastRuneInString(s[start:ms])
					if !unicode.IsSpace(r) {
						break
					}
					ms -= sz
				}
			}
			if a.rstrip {
				for me < len(s) {
					r, sz := utf8.DecodeRuneInString(s[me:])
					if !unicode.IsSpace(r) {
						break
					}
					me += sz
				}
			}
			if ms > start {
				out = append(out, seg{s[start:ms], -1})
			}
			out = append(out, seg{"", a.id})
			start, i = me, me
		}
		if start < len(s) {
			out = append(out, seg{s[start:], -1})
		}
	}
	return out
}

// decode maps ids to text through the decoder chain.
func (p *pipeline) decode(toks []string) string {
	for _, d := range p.dec {
		toks = d(toks)
	}
	if p.dec == nil {
		return strings.Join(toks, " ") // the library's default with no decoder
	}
	return strings.Join(toks, "")
}

// ---- normalizers ----

func parseNormalizer(v any, key string) ([]func(string) string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object or null", key)
	}
	typ, _ := m["type"].(string)
	if err := onlyKeys(m, key, "type", "normalizers", "strip_left", "strip_right", "pattern", "content", "prepend"); err != nil {
		return nil, err
	}
	switch typ {
	case "Sequence":
		list, _ := m["normalizers"].([]any)
		var out []func(string) string
		for i, x := range list {
			f, err := parseNormalizer(x, fmt.Sprintf("%s.normalizers[%d]", key, i))
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
		}
		return out, nil
	case "Lowercase":
		return []func(string) string{strings.ToLower}, nil
	case "NFC":
		return []func(string) string{norm.NFC.String}, nil
	case "NFD":
		return []func(string) string{norm.NFD.String}, nil
	case "NFKC":
		return []func(string) string{norm.NFKC.String}, nil
	case "NFKD":
		return []func(string) string{norm.NFKD.String}, nil
	case "Strip":
		l, _ := m["strip_left"].(bool)
		r, _ := m["strip_right"].(bool)
		return []func(string) string{func(s string) string {
			if l {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if r {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}}, nil
	case "Prepend":
		pre, _ := m["prepend"].(string)
		return []func(string) string{func(s string) string {
			if s == "" {
				return s
			}
			return pre + s
		}}, nil
	case "Replace":
		pat, err := literalPattern(m["pattern"], key+".pattern")
		if err != nil {
			return nil, err
		}
		content, _ := m["content"].(string)
		return []func(string) string{func(s string) string { return strings.ReplaceAll(s, pat, content) }}, nil
	}
	return nil, fmt.Errorf("%s.type %v is not supported (supported: Sequence, Lowercase, NFC, NFD, NFKC, NFKD, Strip, Prepend, Replace)", key, m["type"])
}

// literalPattern reads {"String": s}; a Regex pattern is refused.
func literalPattern(v any, key string) (string, error) {
	m, _ := v.(map[string]any)
	if s, ok := m["String"].(string); ok && len(m) == 1 {
		return s, nil
	}
	return "", fmt.Errorf("%s %v is not supported (want {\"String\": ...})", key, v)
}

// onlyKeys refuses keys of m outside allowed, naming the first.
func onlyKeys(m map[string]any, key string, allowed ...string) error {
	for k := range m {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%s.%s is not supported", key, k)
		}
	}
	return nil
}

// ---- pre-tokenizers ----

// GPT2Pattern is the GPT-2 pre-tokenizer regex (the ByteLevel
// pre-tokenizer's use_regex split). Go's regexp lacks the (?!\S) lookahead,
// so a Split with exactly this pattern runs gpt2Split instead.
const GPT2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

func parsePreTokenizer(v any, key string) ([]preStep, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object or null", key)
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "Sequence":
		if err := onlyKeys(m, key, "type", "pretokenizers"); err != nil {
			return nil, err
		}
		list, _ := m["pretokenizers"].([]any)
		var out []preStep
		for i, x := range list {
			f, err := parsePreTokenizer(x, fmt.Sprintf("%s.pretokenizers[%d]", key, i))
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
		}
		return out, nil
	case "ByteLevel":
		if err := onlyKeys(m, key, "type", "add_prefix_space", "trim_offsets", "use_regex"); err != nil {
			return nil, err
		}
		prefix := boolOr(m["add_prefix_space"], true)
		useRegex := boolOr(m["use_regex"], true)
		return []preStep{func(pieces []string) []string {
			var out []string
			for _, p := range pieces {
				if prefix && !strings.HasPrefix(p, " ") {
					p = " " + p
				}
				words := []string{p}
				if useRegex {
					words = gpt2Split(p)
				}
				for _, w := range words {
					out = append(out, byteLevelEncode(w))
				}
			}
			return out
		}}, nil
	case "Whitespace":
		if err := onlyKeys(m, key, "type"); err != nil {
			return nil, err
		}
		re := regexp.MustCompile(`[\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\t\n\v\f\r\x{85}\p{Z}]+`)
		return []preStep{regexSplit(re, "Removed", true)}, nil
	case "WhitespaceSplit":
		if err := onlyKeys(m, key, "type"); err != nil {
			return nil, err
		}
		return []preStep{func(pieces []string) []string {
			var out []string
			for _, p := range pieces {
				out = append(out, strings.FieldsFunc(p, unicode.IsSpace)...)
			}
			return out
		}}, nil
	case "Digits":
		if err := onlyKeys(m, key, "type", "individual_digits"); err != nil {
			return nil, err
		}
		behavior := "Contiguous"
		if b, _ := m["individual_digits"].(bool); b {
			behavior = "Isolated"
		}
		return []preStep{funcSplit(unicode.IsNumber, behavior)}, nil
	case "Split":
		if err := onlyKeys(m, key, "type", "pattern", "behavior", "invert"); err != nil {
			return nil, err
		}
		behavior, _ := m["behavior"].(string)
		switch behavior {
		case "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous":
		default:
			return nil, fmt.Errorf("%s.behavior %v is not supported (want Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)", key, m["behavior"])
		}
		invert, _ := m["invert"].(bool)
		pat, _ := m["pattern"].(map[string]any)
		if s, ok := pat["String"].(string); ok && len(pat) == 1 {
			return []preStep{regexSplit(regexp.MustCompile(regexp.QuoteMeta(s)), behavior, invert)}, nil
		}
		rs, ok := pat["Regex"].(string)
		if !ok || len(pat) != 1 {
			return nil, fmt.Errorf("%s.pattern %v is not supported (want {\"String\": ...} or {\"Regex\": ...})", key, m["pattern"])
		}
		if rs == GPT2Pattern && behavior == "Isolated" && !invert {
			return []preStep{func(pieces []string) []string {
				var out []string
				for _, p := range pieces {
					out = append(out, gpt2Split(p)...)
				}
				return out
			}}, nil
		}
		re, err := regexp.Compile(rs)
		if err != nil {
			return nil, fmt.Errorf("%s.pattern.Regex %q: %w", key, rs, err)
		}
		return []preStep{regexSplit(re, behavior, invert)}, nil
	}
	return nil, fmt.Errorf("%s.type %v is not supported (supported: Sequence, ByteLevel, Whitespace, WhitespaceSplit, Digits, Split)", key, m["type"])
}

func boolOr(v any, def bool) bool {
	if b, ok := v.(bool); ok {
		return b
	}
	return def
}

// span is a piece of a string and whether a delimiter matched it.
type span struct {
	s, e  int
	match bool
}

// applyBehavior turns alternating match/non-match spans into pieces the way
// the library's SplitDelimiterBehavior does.
func applyBehavior(p string, spans []span, behavior string, invert bool) []string {
	if invert {
		for i := range spans {
			spans[i].match = !spans[i].match
		}
	}
	var acc []span
	prev := false
	switch behavior {
	case "Removed":
		for _, sp := range spans {
			if !sp.match {
				acc = append(acc, sp)
			}
		}
	case "Isolated":
		acc = spans
	case "MergedWithPrevious":
		for _, sp := range spans {
			if sp.match && !prev && len(acc) > 0 {
				acc[len(acc)-1].e = sp.e
			} else {
				acc = append(acc, sp)
			}
			prev = sp.match
		}
	case "MergedWithNext":
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prev && len(acc) > 0 {
				acc[len(acc)-1].s = sp.s
			} else {
				acc = append(acc, sp)
			}
			prev = sp.match
		}
		for i, j := 0, len(acc)-1; i < j; i, j = i+1, j-1 {
			acc[i], acc[j] = acc[j], acc[i]
		}
	case "Contiguous":
		for _, sp := range spans {
			if sp.match == prev && len(acc) > 0 {
				acc[len(acc)-1].e = sp.e
			} else {
				acc = append(acc, sp)
			}
			prev = sp.match
		}
	}
	out := make([]string, 0, len(acc))
	for _, sp := range acc {
		if sp.e > sp.s {
			out = append(out, p[sp.s:sp.e])
		}
	}
	return out
}

func regexSplit(re *regexp.Regexp, behavior string, invert bool) preStep {
	return func(pieces []string) []string {
		var out []string
		for _, p := range pieces {
			var spans []span
			prev := 0
			for _, m := range re.FindAllStringIndex(p, -1) {
				if m[0] == m[1] {
					continue
				}
				if m[0] > prev {
					spans = append(spans, span{prev, m[0], false})
				}
				spans = append(spans, span{m[0], m[1], true})
				prev = m[1]
			}
			if prev < len(p) {
				spans = append(spans, span{prev, len(p), false})
			}
			out = append(out, applyBehavior(p, spans, behavior, invert)...)
		}
		return out
	}
}

// funcSplit matches each character for which f holds as its own delimiter.
func funcSplit(f func(rune) bool, behavior string) preStep {
	return func(pieces []string) []string {
		var out []string
		for _, p := range pieces {
			var spans []span
			prev := 0
			for i, r := range p {
				if f(r) {
					if i > prev {
						spans = append(spans, span{prev, i, false})
					}
					e := i + utf8.RuneLen(r)
					spans = append(spans, span{i, e, true})
					prev = e
				}
			}
			if prev < len(p) {
				spans = append(spans, span{prev, len(p), false})
			}
			out = append(out, applyBehavior(p, spans, behavior, false)...)
		}
		return out
	}
}

// gpt2Split is GPT2Pattern by hand (Go's regexp has no lookahead).
func gpt2Split(s string) []string {
	var out []string
	isL := unicode.IsLetter
	isN := unicode.IsNumber
	isS := unicode.IsSpace
	other := func(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }
	run := func(i int, f func(rune) bool) int { // end of the run of f from i
		for i < len(s) {
			r, sz := utf8.DecodeRuneInString(s[i:])
			if !f(r) {
				break
			}
			i += sz
		}
		return i
	}
	for i := 0; i < len(s); {
		if s[i] == '\'' {
			rest := s[i+1:]
			n := 0
			switch {
			case strings.HasPrefix(rest, "re"), strings.HasPrefix(rest, "ve"), strings.HasPrefix(rest, "ll"):
				n = 3
			case strings.HasPrefix(rest, "s"), strings.HasPrefix(rest, "t"), strings.HasPrefix(rest, "m"), strings.HasPrefix(rest, "d"):
				n = 2
			}
			if n > 0 {
				out = append(out, s[i:i+n])
				i += n
				continue
			}
		}
		j := i
		if s[i] == ' ' {
			j = i + 1
		}
		if j < len(s) {
			r, _ := utf8.DecodeRuneInString(s[j:])
			var f func(rune) bool
			switch {
			case isL(r):
				f = isL
			case isN(r):
				f = isN
			case other(r):
				f = other
			}
			if f != nil {
				e := run(j, f)
				out = append(out, s[i:e])
				i = e
				continue
			}
		}
		// whitespace: \s+(?!\S) then \s+
		e := run(i, isS)
		if e == i { // cannot happen: every rune is L, N, other or space
			_, sz := utf8.DecodeRuneInString(s[i:])
			e = i + sz
		} else if e < len(s) {
			// followed by a non-space: give back the last space, if more than one
			_, last := utf8.DecodeLastRuneInString(s[i:e])
			if e-last > i {
				e -= last
			}
		}
		out = append(out, s[i:e])
		i = e
	}
	return out
}

// ---- byte level ----

var byteToRune, runeToByte = byteLevelTables()

func byteLevelTables() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}

func byteLevelEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// ---- decoders ----

func parseDecoder(v any, key string) ([]decodeStep, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object or null", key)
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "Sequence":
		if err := onlyKeys(m, key, "type", "decoders"); err != nil {
			return nil, err
		}
		list, _ := m["decoders"].([]any)
		out := []decodeStep{}
		for i, x := range list {
			f, err := parseDecoder(x, fmt.Sprintf("%s.decoders[%d]", key, i))
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
		}
		return out, nil
	case "ByteLevel":
		return []decodeStep{func(toks []string) []string {
			var b []byte
			for _, t := range toks {
				for _, r := range t {
					if x, ok := runeToByte[r]; ok {
						b = append(b, x)
					} else {
						b = utf8.AppendRune(b, r)
					}
				}
			}
			return []string{strings.ToValidUTF8(string(b), "\uFFFD")}
		}}, nil
	case "Fuse":
		return []decodeStep{func(toks []string) []string { return []string{strings.Join(toks, "")} }}, nil
	case "BPEDecoder":
		if err := onlyKeys(m, key, "type", "suffix"); err != nil {
			return nil, err
		}
		suffix, ok := m["suffix"].(string)
		if !ok {
			suffix = "</w>"
		}
		return []decodeStep{func(toks []string) []string {
			out := make([]string, len(toks))
			for i, t := range toks {
				rep := " "
				if i == len(toks)-1 {
					rep = ""
				}
				out[i] = strings.ReplaceAll(t, suffix, rep)
			}
			return out
		}}, nil
	case "ByteFallback":
		return []decodeStep{func(toks []string) []string {
			var out []string
			var pend []byte
			flush := func() {
				if pend != nil {
					out = append(out, strings.ToValidUTF8(string(pend), "\uFFFD"))
					pend = nil
				}
			}
			for _, t := range toks {
				var x byte
				if len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>' {
					if _, err := fmt.Sscanf(t[3:5], "%02X", &x); err == nil {
						pend = append(pend, x)
						continue
					}
				}
				flush()
				out = append(out, t)
			}
			flush()
			return out
		}}, nil
	case "Replace":
		if err := onlyKeys(m, key, "type", "pattern", "content"); err != nil {
			return nil, err
		}
		pat, err := literalPattern(m["pattern"], key+".pattern")
		if err != nil {
			return nil, err
		}
		content, _ := m["content"].(string)
		return []decodeStep{func(toks []string) []string {
			out := make([]string, len(toks))
			for i, t := range toks {
				out[i] = strings.ReplaceAll(t, pat, content)
			}
			return out
		}}, nil
	}
	return nil, fmt.Errorf("%s.type %v is not supported (supported: Sequence, ByteLevel, Fuse, BPEDecoder, ByteFallback, Replace)", key, m["type"])
}

// ---- post-processors ----

// parsePostProcessor returns the ids a single sequence gets before and
// after it (add_special_tokens).
func parsePostProcessor(v any, key string, vocab map[string]int) (prefix, suffix []int, err error) {
	if v == nil {
		return nil, nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%s must be an object or null", key)
	}
	typ, _ := m["type"].(string)
	pairID := func(x any, k string) (int, error) {
		a, _ := x.([]any)
		if len(a) != 2 {
			return 0, fmt.Errorf("%s.%s %v must be [token, id]", key, k, x)
		}
		tok, _ := a[0].(string)
		id, ok := a[1].(float64)
		if vid, in := vocab[tok]; !ok || !in || vid != int(id) {
			return 0, fmt.Errorf("%s.%s %v: token and id disagree with the vocabulary", key, k, x)
		}
		return int(id), nil
	}
	switch typ {
	case "ByteLevel":
		return nil, nil, nil // offsets only
	case "Sequence":
		list, _ := m["processors"].([]any)
		for i, x := range list {
			p, s, err := parsePostProcessor(x, fmt.Sprintf("%s.processors[%d]", key, i), vocab)
			if err != nil {
				return nil, nil, err
			}
			prefix = append(p, prefix...)
			suffix = append(suffix, s...)
		}
		return prefix, suffix, nil
	case "RobertaProcessing", "BertProcessing":
		cls, err := pairID(m["cls"], "cls")
		if err != nil {
			return nil, nil, err
		}
		sep, err := pairID(m["sep"], "sep")
		if err != nil {
			return nil, nil, err
		}
		return []int{cls}, []int{sep}, nil
	case "TemplateProcessing":
		specials := map[string][]int{}
		st, _ := m["special_tokens"].(map[string]any)
		for name, x := range st {
			e, _ := x.(map[string]any)
			ids, _ := e["ids"].([]any)
			for _, id := range ids {
				f, ok := id.(float64)
				if !ok {
					return nil, nil, fmt.Errorf("%s.special_tokens[%q].ids must be integers", key, name)
				}
				specials[name] = append(specials[name], int(f))
			}
		}
		single, _ := m["single"].([]any)
		seenA := false
		for i, it := range single {
			e, _ := it.(map[string]any)
			if sq, ok := e["Sequence"].(map[string]any); ok {
				if sq["id"] != "A" || seenA {
					return nil, nil, fmt.Errorf("%s.single[%d]: only one Sequence A is supported", key, i)
				}
				seenA = true
				continue
			}
			sp, ok := e["SpecialToken"].(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("%s.single[%d] %v is not a SpecialToken or Sequence", key, i, it)
			}
			name, _ := sp["id"].(string)
			ids, ok := specials[name]
			if !ok {
				return nil, nil, fmt.Errorf("%s.single[%d]: %q is not in special_tokens", key, i, name)
			}
			if seenA {
				suffix = append(suffix, ids...)
			} else {
				prefix = append(prefix, ids...)
			}
		}
		if !seenA {
			return nil, nil, fmt.Errorf("%s.single has no Sequence A", key)
		}
		return prefix, suffix, nil
	}
	return nil, nil, fmt.Errorf("%s.type %v is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)", key, m["type"])
}

// rawJSON re-decodes a sub-document into generic values.
func rawJSON(b json.RawMessage) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}
