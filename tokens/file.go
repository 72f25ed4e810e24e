package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/sugarme/tokenizer/pretrained"
	"math"
	"os"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
)

// charPattern splits text into one piece per character. Unlike ".", it
// matches a newline too, and it means the same in Go's regexp and in the
// Oniguruma engine of HuggingFace tokenizers.
const charPattern = `[\s\S]`

// The tokenizer.json layout written by Save, fields in HuggingFace order.
type fileJSON struct {
	Version       string        `json:"version"`
	Truncation    *struct{}     `json:"truncation"`
	Padding       *struct{}     `json:"padding"`
	AddedTokens   []addedJSON   `json:"added_tokens"`
	Normalizer    *struct{}     `json:"normalizer"`
	PreTokenizer  splitJSON     `json:"pre_tokenizer"`
	PostProcessor any           `json:"post_processor"`
	Decoder       typeOnlyJSON  `json:"decoder"`
	Model         wordLevelJSON `json:"model"`
}

type addedJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type splitJSON struct {
	Type     string      `json:"type"`
	Pattern  patternJSON `json:"pattern"`
	Behavior string      `json:"behavior"`
	Invert   bool        `json:"invert"`
}

type patternJSON struct {
	Regex string `json:"Regex"`
}

type typeOnlyJSON struct {
	Type string `json:"type"`
}

type wordLevelJSON struct {
	Type     string       `json:"type"`
	Vocab    orderedVocab `json:"vocab"`
	UnkToken string       `json:"unk_token"`
}

// orderedVocab marshals as a JSON object {token: id} in id order (a Go map
// would be written in key order, which hides the id layout from a reader).
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			b.WriteByte(',')
		}
		k, err := marshalNoEscape(tok)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalFile renders a tokenizer.json for the vocabulary toks (id order),
// marking specials as special added tokens.
func marshalFile(toks, specials []string, unk string) ([]byte, error) {
	f := fileJSON{
		Version:      "1.0",
		PreTokenizer: splitJSON{Type: "Split", Pattern: patternJSON{Regex: charPattern}, Behavior: "Isolated"},
		Decoder:      typeOnlyJSON{Type: "Fuse"},
		Model:        wordLevelJSON{Type: "WordLevel", Vocab: toks, UnkToken: unk},
	}
	if slices.Contains(toks, BOSToken) {
		f.PostProcessor = bosTemplate(slices.Index(toks, BOSToken))
	}
	for id, tok := range toks {
		if slices.Contains(specials, tok) {
			f.AddedTokens = append(f.AddedTokens, addedJSON{ID: id, Content: tok, Special: true})
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<eos>" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// bosTemplate is the post-processor that puts <bos> before a sequence, as
// the trainer does with every prompt, so Hugging Face's encode(text) gives
// the ids the policy was trained on.
func bosTemplate(bos int) map[string]any {
	seq := func(id string, typ int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
	}
	sp := map[string]any{"SpecialToken": map[string]any{"id": BOSToken, "type_id": 0}}
	return map[string]any{
		"type":   "TemplateProcessing",
		"single": []any{sp, seq("A", 0)},
		"pair":   []any{sp, seq("A", 0), seq("B", 1)},
		"special_tokens": map[string]any{
			BOSToken: map[string]any{"id": BOSToken, "ids": []int{bos}, "tokens": []string{BOSToken}},
		},
	}
}

// marshalNoEscape is json.Marshal without HTML escaping and the trailing
// newline of json.Encoder.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Save writes the tokenizer as a HuggingFace-format tokenizer.json at path,
// atomically: a temporary file in the same directory is written, synced and
// renamed over path. (The library's own Tokenizer.Save writes nothing in
// v0.3.0.) What is written is the canonical form of this package, whatever
// the loaded file looked like.
func (t *Tokenizer) Save(path string) error {
	data, err := t.Marshal()
	if err != nil {
		return fmt.Errorf("tokens: save %s: %w", path, err)
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("tokens: save %s: %w", path, err)
	}
	return nil
}

// Marshal returns the tokenizer.json bytes that Save writes.
func (t *Tokenizer) Marshal() ([]byte, error) {
	if t.gen != nil {
		return append([]byte(nil), t.gen.raw...), nil
	}
	var specials []string
	for id, tok := range t.toks {
		if t.special[id] {
			specials = append(specials, tok)
		}
	}
	return marshalFile(t.toks, specials, t.toks[t.unk])
}

// Parse is Load from bytes (a tokenizer.json held in a checkpoint).
func Parse(data []byte) (*Tokenizer, error) {
	t, err := parse(data, SpecialNames{})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return t, nil
}

// Load reads a tokenizer.json through the library and checks that it is a
// character-level WordLevel tokenizer this package can serve:
//
//   - model "WordLevel" whose ids are exactly 0..V-1;
//   - pre_tokenizer a Split on a regex with behavior "Isolated", not
//     inverted, that cuts every vocabulary character into its own piece;
//   - normalizer, post_processor, truncation and padding null; decoder null
//     or "Fuse";
//   - special added tokens <pad>, <bos> and <eos>, and the model's unk_token
//     (default "<unk>"), all in the vocabulary; every other token exactly one
//     character.
//
// Anything else is an error naming the field.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: load: %w", err)
	}
	t, err := parse(data, SpecialNames{})
	if err != nil {
		return nil, fmt.Errorf("tokens: load %s: %w", path, err)
	}
	return t, nil
}

// parse builds a Tokenizer from tokenizer.json bytes. The library panics on
// some malformed inputs; those panics are returned as errors.
func parse(data []byte, names SpecialNames) (t *Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("library: %v", r)
		}
	}()
	var cfg tokenizer.Config // the library's schema for tokenizer.json
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, err
	}
	if !charShaped(cfg) {
		return parseGeneric(data, names)
	}
	for _, f := range []struct {
		key string
		v   map[string]any
	}{
		{"normalizer", cfg.Normalizer}, {"truncation", cfg.Truncation}, {"padding", cfg.Padding},
	} {
		if f.v != nil {
			return nil, fmt.Errorf("%s must be null, got %v", f.key, f.v)
		}
	}

	// Model.
	if typ, _ := cfg.Model["type"].(string); typ != "WordLevel" {
		return nil, fmt.Errorf("model.type %v is not supported (want WordLevel)", cfg.Model["type"])
	}
	unk := UnkToken
	if u, ok := cfg.Model["unk_token"]; ok && u != nil {
		s, ok := u.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("model.unk_token %v must be a non-empty string", u)
		}
		unk = s
	}
	rawVocab, ok := cfg.Model["vocab"].(map[string]any)
	if !ok || len(rawVocab) == 0 {
		return nil, fmt.Errorf("model.vocab must be a non-empty object")
	}
	vocab := make(map[string]int, len(rawVocab))
	toks := make([]string, len(rawVocab))
	for tok, raw := range rawVocab {
		f, ok := raw.(float64)
		if !ok || f != math.Trunc(f) || f < 0 || f >= float64(len(rawVocab)) {
			return nil, fmt.Errorf("model.vocab[%q] = %v: ids must be integers in [0, %d)", tok, raw, len(rawVocab))
		}
		id := int(f)
		if toks[id] != "" {
			return nil, fmt.Errorf("model.vocab: id %d is used by %q and %q", id, toks[id], tok)
		}
		if tok == "" {
			return nil, fmt.Errorf("model.vocab: empty token for id %d", id)
		}
		toks[id] = tok
		vocab[tok] = id
	}

	// Pre-tokenizer: a per-character Split.
	pt := cfg.PreTokenizer
	if typ, _ := pt["type"].(string); typ != "Split" {
		return nil, fmt.Errorf("pre_tokenizer.type %v is not supported (want Split)", pt["type"])
	}
	pat, _ := pt["pattern"].(map[string]any)
	re, ok := pat["Regex"].(string)
	if !ok {
		return nil, fmt.Errorf("pre_tokenizer.pattern %v is not supported (want {\"Regex\": ...})", pt["pattern"])
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, fmt.Errorf("pre_tokenizer.pattern.Regex %q: %w", re, err)
	}
	if b, _ := pt["behavior"].(string); b != "Isolated" {
		return nil, fmt.Errorf("pre_tokenizer.behavior %v is not supported (want Isolated)", pt["behavior"])
	}
	if inv, _ := pt["invert"].(bool); inv {
		return nil, fmt.Errorf("pre_tokenizer.invert true is not supported")
	}

	// Decoder.
	if cfg.Decoder != nil {
		if typ, _ := cfg.Decoder["type"].(string); typ != "Fuse" {
			return nil, fmt.Errorf("decoder.type %v is not supported (want null or Fuse)", cfg.Decoder["type"])
		}
	}

	// Added tokens: specials must be vocabulary entries.
	special := make([]bool, len(toks))
	unkID, ok := vocab[unk]
	if !ok {
		return nil, fmt.Errorf("model.unk_token %q is not in model.vocab", unk)
	}
	special[unkID] = true
	var specialToks, plainToks []tokenizer.AddedToken
	for _, a := range cfg.AddedTokens {
		id, ok := vocab[a.Content]
		if !ok {
			return nil, fmt.Errorf("added_tokens: %q is not in model.vocab", a.Content)
		}
		if int64(id) != a.Id {
			return nil, fmt.Errorf("added_tokens: %q has id %d, model.vocab says %d", a.Content, a.Id, id)
		}
		at := tokenizer.NewAddedToken(a.Content, a.Special)
		if a.Special {
			special[id] = true
			specialToks = append(specialToks, at)
		} else {
			plainToks = append(plainToks, at)
		}
	}
	for _, name := range []string{PadToken, BOSToken, EOSToken} {
		id, ok := vocab[name]
		if !ok || !special[id] {
			return nil, fmt.Errorf("added_tokens: %s must be a special token of model.vocab", name)
		}
	}

	t = &Tokenizer{
		toks:    toks,
		special: special,
		other:   make(map[rune]int),
		ids:     vocab,
		pad:     vocab[PadToken],
		bos:     vocab[BOSToken],
		eos:     vocab[EOSToken],
		unk:     vocab[unk],
		prompt:  []int{vocab[BOSToken]}, // files from before the post-processor was written
	}
	if cfg.PostProcessor != nil {
		pre, suf, err := parsePostProcessor(cfg.PostProcessor, "post_processor", vocab)
		if err != nil {
			return nil, err
		}
		if len(suf) > 0 {
			return nil, fmt.Errorf("post_processor: ids after the sequence (%v) are not supported for a character tokenizer", suf)
		}
		t.prompt = pre
	}
	if err := t.rename(names); err != nil {
		return nil, err
	}
	for i := range t.ascii {
		t.ascii[i] = -1
	}
	var alphabet []byte
	for id, tok := range toks {
		if special[id] {
			continue
		}
		r, size := utf8.DecodeRuneInString(tok)
		if size != len(tok) || (r == utf8.RuneError && size == 1) {
			return nil, fmt.Errorf("model.vocab: token %q (id %d) is not a single character", tok, id)
		}
		if r < utf8.RuneSelf {
			t.ascii[r] = int32(id)
		} else {
			t.other[r] = id
		}
		alphabet = append(alphabet, tok...)
	}

	// The library's own loader reads the file (what a HuggingFace user's
	// code would do); the checks above only decide which files we serve.
	libData := data
	if cfg.PostProcessor != nil { // read above; the library does not know TemplateProcessing
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
		m["post_processor"] = nil
		if libData, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	lib, err := pretrained.FromReader(bytes.NewReader(libData))
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	t.lib = lib

	// The table must agree with the library on every vocabulary character.
	got, err := t.libEncode(string(alphabet))
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer does not split every character: %w", err)
	}
	want, _ := t.Encode(string(alphabet))
	if !slices.Equal(got, want) {
		return nil, fmt.Errorf("pre_tokenizer does not split every character: library ids %v, want %v", got, want)
	}
	return t, nil
}

// charShaped reports whether a file has the shape of entrolab's character
// tokenizer (WordLevel behind one isolating Split, no normalizer), which the
// table-driven path serves; every other file goes through parseGeneric.
func charShaped(cfg tokenizer.Config) bool {
	typ, _ := cfg.Model["type"].(string)
	pt, _ := cfg.PreTokenizer["type"].(string)
	b, _ := cfg.PreTokenizer["behavior"].(string)
	inv, _ := cfg.PreTokenizer["invert"].(bool)
	return typ == "WordLevel" && cfg.Normalizer == nil && pt == "Split" && b == "Isolated" && !inv
}

// rename points bos/eos/pad at the tokens names gives (empty: unchanged).
func (t *Tokenizer) rename(names SpecialNames) error {
	for _, x := range []struct {
		key, name string
		dst       *int
	}{{"bos_token", names.BOS, &t.bos}, {"eos_token", names.EOS, &t.eos}, {"pad_token", names.Pad, &t.pad}} {
		if x.name == "" {
			continue
		}
		id, ok := t.ids[x.name]
		if !ok {
			return fmt.Errorf("%s %q is not in the vocabulary", x.key, x.name)
		}
		*x.dst = id
	}
	return nil
}
