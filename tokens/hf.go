package tokens

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The general tokenizer.json path: BPE (byte-level or not) and WordLevel
// models behind any supported normalizer, pre-tokenizer, post-processor and
// decoder (see pipeline.go). Files of entrolab's own character-level shape
// keep the table-driven path of file.go.

// hfFile is the top level of a tokenizer.json.
type hfFile struct {
	Version       string            `json:"version"`
	Truncation    json.RawMessage   `json:"truncation"`
	Padding       json.RawMessage   `json:"padding"`
	AddedTokens   []json.RawMessage `json:"added_tokens"`
	Normalizer    json.RawMessage   `json:"normalizer"`
	PreTokenizer  json.RawMessage   `json:"pre_tokenizer"`
	PostProcessor json.RawMessage   `json:"post_processor"`
	Decoder       json.RawMessage   `json:"decoder"`
	Model         json.RawMessage   `json:"model"`
}

// SpecialNames says which tokens begin, end and pad a sequence; empty
// fields are looked up by entrolab's names <bos>, <eos>, <pad>.
type SpecialNames struct {
	BOS, EOS, Pad string
}

// parseGeneric builds a Tokenizer from any supported tokenizer.json.
func parseGeneric(data []byte, names SpecialNames) (*Tokenizer, error) {
	var f hfFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		key string
		v   json.RawMessage
	}{{"truncation", f.Truncation}, {"padding", f.Padding}} {
		if len(x.v) > 0 && string(x.v) != "null" {
			return nil, fmt.Errorf("%s must be null (entrolab pads and truncates itself), got %s", x.key, x.v)
		}
	}
	p := &pipeline{raw: data}
	var model map[string]any
	if err := json.Unmarshal(f.Model, &model); err != nil || model == nil {
		return nil, fmt.Errorf("model must be an object")
	}
	vocab, toks, err := readVocab(model)
	if err != nil {
		return nil, err
	}
	special := map[int]bool{}
	for i, raw := range f.AddedTokens {
		var a struct {
			ID         *float64 `json:"id"`
			Content    string   `json:"content"`
			SingleWord bool     `json:"single_word"`
			Lstrip     bool     `json:"lstrip"`
			Rstrip     bool     `json:"rstrip"`
			Normalized bool     `json:"normalized"`
			Special    bool     `json:"special"`
		}
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.DisallowUnknownFields()
		if err := d.Decode(&a); err != nil {
			return nil, fmt.Errorf("added_tokens[%d]: %v", i, err)
		}
		if a.ID == nil || *a.ID != math.Trunc(*a.ID) || *a.ID < 0 || *a.ID > 1<<24 {
			return nil, fmt.Errorf("added_tokens[%d] (%q): id must be a non-negative integer", i, a.Content)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens[%d]: empty content", i)
		}
		if a.SingleWord {
			return nil, fmt.Errorf("added_tokens[%d] (%q): single_word true is not supported", i, a.Content)
		}
		id := int(*a.ID)
		if old, ok := vocab[a.Content]; ok && old != id {
			return nil, fmt.Errorf("added_tokens[%d]: %q has id %d, model.vocab says %d", i, a.Content, id, old)
		}
		for id >= len(toks) {
			toks = append(toks, "")
		}
		if toks[id] != "" && toks[id] != a.Content {
			return nil, fmt.Errorf("added_tokens[%d]: id %d is %q in model.vocab, not %q", i, id, toks[id], a.Content)
		}
		toks[id], vocab[a.Content] = a.Content, id
		if a.Special {
			special[id] = true
		}
		// The library matches normalized=true tokens in the normalized text.
		p.added = append(p.added, addedTok{content: a.Content, id: id, normalized: a.Normalized, lstrip: a.Lstrip, rstrip: a.Rstrip})
	}
	for id, tok := range toks {
		if tok == "" {
			return nil, fmt.Errorf("model.vocab and added_tokens leave id %d unused (ids must be 0..%d)", id, len(toks)-1)
		}
	}

	switch typ, _ := model["type"].(string); typ {
	case "BPE":
		if p.model, err = parseBPE(model, vocab); err != nil {
			return nil, err
		}
	case "WordLevel":
		if err := onlyKeys(model, "model", "type", "vocab", "unk_token"); err != nil {
			return nil, err
		}
		wl := &wordLevel{vocab: vocab, unk: -1}
		if u, ok := model["unk_token"].(string); ok {
			id, in := vocab[u]
			if !in {
				return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", u)
			}
			wl.unk = id
		}
		p.model = wl
	default:
		return nil, fmt.Errorf("model.type %v is not supported (supported: BPE, WordLevel)", model["type"])
	}
	var v any
	if v, err = rawJSON(f.Normalizer); err != nil {
		return nil, err
	}
	if p.norm, err = parseNormalizer(v, "normalizer"); err != nil {
		return nil, err
	}
	// Tokens matched in the normalized text are matched in normalized form.
	for i := range p.added {
		if p.added[i].normalized {
			for _, n := range p.norm {
				p.added[i].content = n(p.added[i].content)
			}
		}
	}
	sort.SliceStable(p.added, func(i, j int) bool { return len(p.added[i].content) > len(p.added[j].content) })
	if v, err = rawJSON(f.PreTokenizer); err != nil {
		return nil, err
	}
	if p.pre, err = parsePreTokenizer(v, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if v, err = rawJSON(f.Decoder); err != nil {
		return nil, err
	}
	if p.dec, err = parseDecoder(v, "decoder"); err != nil {
		return nil, err
	}
	if v, err = rawJSON(f.PostProcessor); err != nil {
		return nil, err
	}
	if p.prefix, p.suffix, err = parsePostProcessor(v, "post_processor", vocab); err != nil {
		return nil, err
	}

	t := &Tokenizer{toks: toks, special: make([]bool, len(toks)), ids: vocab, gen: p, bos: -1, eos: -1, pad: -1, unk: -1}
	for id := range special {
		t.special[id] = true
	}
	if u, ok := model["unk_token"].(string); ok {
		t.unk = vocab[u]
		t.special[t.unk] = true
	}
	t.prompt = append([]int(nil), p.prefix...)
	pick := func(key, name, def string) (int, error) {
		if name == "" {
			name = def
			if _, ok := vocab[name]; !ok {
				return -1, nil
			}
		}
		id, ok := vocab[name]
		if !ok {
			return -1, fmt.Errorf("%s %q is not in the vocabulary", key, name)
		}
		return id, nil
	}
	if t.bos, err = pick("bos_token", names.BOS, BOSToken); err != nil {
		return nil, err
	}
	if t.eos, err = pick("eos_token", names.EOS, EOSToken); err != nil {
		return nil, err
	}
	if t.pad, err = pick("pad_token", names.Pad, PadToken); err != nil {
		return nil, err
	}
	if t.eos < 0 {
		return nil, fmt.Errorf("no end-of-sequence token: name one with eos_token in tokenizer_config.json or eos_token_id in generation_config.json (or call it %s)", EOSToken)
	}
	if t.pad < 0 {
		t.pad = t.eos // what transformers' generate() does without a pad token
	}
	if t.unk < 0 {
		t.unk = t.eos // Decode shows an out-of-range id as this token
	}
	return t, nil
}

// readVocab reads model.vocab {token: id}.
func readVocab(model map[string]any) (map[string]int, []string, error) {
	raw, ok := model["vocab"].(map[string]any)
	if !ok || len(raw) == 0 {
		return nil, nil, fmt.Errorf("model.vocab must be a non-empty object")
	}
	if len(raw) > 1<<24 {
		return nil, nil, fmt.Errorf("model.vocab has %d entries, more than %d", len(raw), 1<<24)
	}
	vocab := make(map[string]int, len(raw))
	toks := make([]string, len(raw))
	for tok, x := range raw {
		f, ok := x.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || f >= float64(len(raw)) {
			return nil, nil, fmt.Errorf("model.vocab[%q] = %v: ids must be integers in [0, %d)", tok, x, len(raw))
		}
		id := int(f)
		if toks[id] != "" {
			return nil, nil, fmt.Errorf("model.vocab: id %d is used by %q and %q", id, toks[id], tok)
		}
		if tok == "" {
			return nil, nil, fmt.Errorf("model.vocab: empty token for id %d", id)
		}
		toks[id], vocab[tok] = tok, id
	}
	return vocab, toks, nil
}

type wordLevel struct {
	vocab map[string]int
	unk   int
}

func (w *wordLevel) appendWord(dst []int, word string) ([]int, error) {
	if id, ok := w.vocab[word]; ok {
		return append(dst, id), nil
	}
	if w.unk < 0 {
		return dst, fmt.Errorf("%w: word %q is not in the vocabulary and model.unk_token is null", ErrUnknownChar, word)
	}
	return append(dst, w.unk), nil
}

// bpe is the BPE model: merges by rank, optional unk, byte fallback,
// continuing-subword prefix and end-of-word suffix.
type bpe struct {
	vocab        map[string]int
	ranks        map[[2]int]int // (left id, right id) -> rank
	merged       map[[2]int]int // (left id, right id) -> merged id
	unk          int            // -1: none
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
}

func parseBPE(model map[string]any, vocab map[string]int) (*bpe, error) {
	if err := onlyKeys(model, "model", "type", "vocab", "merges", "dropout", "unk_token",
		"continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges"); err != nil {
		return nil, err
	}
	if model["dropout"] != nil {
		return nil, fmt.Errorf("model.dropout %v is not supported (want null: encoding must be deterministic)", model["dropout"])
	}
	b := &bpe{vocab: vocab, ranks: map[[2]int]int{}, merged: map[[2]int]int{}, unk: -1}
	b.prefix, _ = model["continuing_subword_prefix"].(string)
	b.suffix, _ = model["end_of_word_suffix"].(string)
	b.fuseUnk, _ = model["fuse_unk"].(bool)
	b.byteFallback, _ = model["byte_fallback"].(bool)
	b.ignoreMerges, _ = model["ignore_merges"].(bool)
	if u := model["unk_token"]; u != nil {
		s, ok := u.(string)
		id, in := vocab[s]
		if !ok || !in {
			return nil, fmt.Errorf("model.unk_token %v is not in model.vocab", u)
		}
		b.unk = id
	}
	merges, _ := model["merges"].([]any)
	for i, m := range merges {
		var l, r string
		switch x := m.(type) {
		case string: // "a b"
			parts := strings.Split(x, " ")
			if len(parts) != 2 {
				return nil, fmt.Errorf("model.merges[%d] %q is not two tokens separated by a space", i, x)
			}
			l, r = parts[0], parts[1]
		case []any: // ["a", "b"]
			if len(x) != 2 {
				return nil, fmt.Errorf("model.merges[%d] %v is not a pair", i, x)
			}
			l, _ = x[0].(string)
			r, _ = x[1].(string)
		default:
			return nil, fmt.Errorf("model.merges[%d] %v is not a pair", i, m)
		}
		li, ok1 := vocab[l]
		ri, ok2 := vocab[r]
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("model.merges[%d] (%q, %q): token not in model.vocab", i, l, r)
		}
		nt := l + strings.TrimPrefix(r, b.prefix)
		if b.prefix == "" {
			nt = l + r
		}
		ni, ok := vocab[nt]
		if !ok {
			return nil, fmt.Errorf("model.merges[%d] (%q, %q): merged token %q not in model.vocab", i, l, r, nt)
		}
		k := [2]int{li, ri}
		if _, dup := b.ranks[k]; !dup {
			b.ranks[k], b.merged[k] = i, ni
		}
	}
	return b, nil
}

func (b *bpe) appendWord(dst []int, word string) ([]int, error) {
	if b.ignoreMerges {
		if id, ok := b.vocab[word]; ok {
			return append(dst, id), nil
		}
	}
	// Initial symbols: one per character.
	var syms []int
	runes := []rune(word)
	lastUnk := false
	for i, r := range runes {
		s := string(r)
		if i > 0 && b.prefix != "" {
			s = b.prefix + s
		}
		if i == len(runes)-1 && b.suffix != "" {
			s += b.suffix
		}
		if id, ok := b.vocab[s]; ok {
			syms = append(syms, id)
			lastUnk = false
			continue
		}
		if b.byteFallback {
			var ids []int
			for _, x := range []byte(string(r)) {
				id, ok := b.vocab[fmt.Sprintf("<0x%02X>", x)]
				if !ok {
					ids = nil
					break
				}
				ids = append(ids, id)
			}
			if ids != nil {
				syms = append(syms, ids...)
				lastUnk = false
				continue
			}
		}
		if b.unk < 0 {
			return dst, fmt.Errorf("%w: character %q has no token and model.unk_token is null", ErrUnknownChar, string(r))
		}
		if b.fuseUnk && lastUnk {
			continue
		}
		syms = append(syms, b.unk)
		lastUnk = true
	}
	// Merge the lowest-ranked pair, leftmost first, until none applies.
	for len(syms) > 1 {
		best, at := math.MaxInt, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := b.ranks[[2]int{syms[i], syms[i+1]}]; ok && r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = b.merged[[2]int{syms[at], syms[at+1]}]
		syms = append(syms[:at+1], syms[at+2:]...)
	}
	return append(dst, syms...), nil
}
