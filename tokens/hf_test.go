package tokens

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureNames are the special tokens of each fixture (as its
// tokenizer_config.json would name them).
var fixtureNames = map[string]SpecialNames{
	"gpt2_bytelevel":         {EOS: "<|endoftext|>", BOS: "<|endoftext|>"},
	"bytelevel_template":     {BOS: "<s>", EOS: "</s>", Pad: "<pad>"},
	"split_digits_bytelevel": {EOS: "<|endoftext|>"},
	"bpe_whitespace":         {},
	"wordlevel_whitespace":   {},
	"entrolab_char":          {},
}

type hfCase struct {
	Tokenizer string `json:"tokenizer"`
	Text      string `json:"text"`
	IDs       []int  `json:"ids"`
	Special   []int  `json:"ids_with_special"`
	Decoded   string `json:"decoded"`
}

func loadFixture(t *testing.T, name string) *Tokenizer {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hf", name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := fixtureNames[name]
	files := map[string][]byte{"tokenizer.json": data}
	if n != (SpecialNames{}) {
		cfg, _ := json.Marshal(map[string]any{"bos_token": n.BOS, "eos_token": n.EOS, "pad_token": n.Pad})
		files["tokenizer_config.json"] = cfg
		if n.BOS == "" || n.Pad == "" {
			var m map[string]any
			json.Unmarshal(cfg, &m)
			for k, v := range m {
				if v == "" {
					delete(m, k)
				}
			}
			files["tokenizer_config.json"], _ = json.Marshal(m)
		}
	}
	tk, err := FromFiles(files)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tk
}

// TestHFFixtures checks Encode, EncodeSpecial and Decode against the ids and
// text the Hugging Face tokenizers library (Rust, via its npm binding) gave
// for the same files: see testdata/hf/make_fixtures.js.
func TestHFFixtures(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "hf", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Cases []hfCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	toks := map[string]*Tokenizer{}
	for _, c := range exp.Cases {
		tk := toks[c.Tokenizer]
		if tk == nil {
			tk = loadFixture(t, c.Tokenizer)
			toks[c.Tokenizer] = tk
		}
		seen[c.Tokenizer] = true
		got, err := tk.Encode(c.Text)
		if err != nil || !slices.Equal(got, c.IDs) {
			t.Errorf("%s: Encode(%q) = %v, %v; tokenizers library: %v", c.Tokenizer, c.Text, got, err, c.IDs)
			continue
		}
		sp, err := tk.EncodeSpecial(c.Text)
		if err != nil || !slices.Equal(sp, c.Special) {
			t.Errorf("%s: EncodeSpecial(%q) = %v, %v; tokenizers library: %v", c.Tokenizer, c.Text, sp, err, c.Special)
		}
		if d := tk.Decode(c.IDs); d != c.Decoded {
			t.Errorf("%s: Decode(%v) = %q; tokenizers library: %q", c.Tokenizer, c.IDs, d, c.Decoded)
		}
	}
	for name := range fixtureNames {
		if !seen[name] {
			t.Errorf("expected.json has no cases for %s", name)
		}
	}
}

// The committed entrolab_char fixture is what New() writes today, so the
// library's ids for it are ids for the tokenizer the trainer uses.
func TestEntrolabCharFixtureCurrent(t *testing.T) {
	want, _ := New().Marshal()
	got, err := os.ReadFile(filepath.Join("testdata", "hf", "entrolab_char", "tokenizer.json"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("testdata/hf/entrolab_char/tokenizer.json is not New().Marshal() (%v): rewrite it and rerun make_fixtures.js", err)
	}
	p, _ := New().EncodePrompt("1+2=")
	if p[0] != int32(New().BOSID()) {
		t.Fatalf("EncodePrompt = %v, want <bos> first", p)
	}
}

func TestHFFilesRoundTrip(t *testing.T) {
	for name := range fixtureNames {
		tk := loadFixture(t, name)
		files, err := tk.HFFiles(64)
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromFiles(files)
		if err != nil {
			t.Fatalf("%s: FromFiles(HFFiles()) = %v", name, err)
		}
		if back.EOSID() != tk.EOSID() || back.PadID() != tk.PadID() || back.BOSID() != tk.BOSID() || back.VocabSize() != tk.VocabSize() {
			t.Errorf("%s: round trip changed bos/eos/pad/V: %d %d %d %d -> %d %d %d %d", name,
				tk.BOSID(), tk.EOSID(), tk.PadID(), tk.VocabSize(), back.BOSID(), back.EOSID(), back.PadID(), back.VocabSize())
		}
	}
}

func TestHFRefusals(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "hf", "gpt2_bytelevel", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"dropout", func(m map[string]any) { m["model"].(map[string]any)["dropout"] = 0.1 }, "model.dropout 0.1 is not supported"},
		{"unknown_model_key", func(m map[string]any) { m["model"].(map[string]any)["frobnicate"] = true }, "model.frobnicate is not supported"},
		{"metaspace", func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }, "pre_tokenizer.type Metaspace is not supported"},
		{"byte_level_option", func(m map[string]any) { m["pre_tokenizer"].(map[string]any)["prefix_mode"] = 1 }, "pre_tokenizer.prefix_mode is not supported"},
		{"wordpiece_decoder", func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }, "decoder.type WordPiece is not supported"},
		{"bert_normalizer", func(m map[string]any) { m["normalizer"] = map[string]any{"type": "BertNormalizer"} }, "normalizer.type BertNormalizer is not supported"},
		{"padding", func(m map[string]any) { m["padding"] = map[string]any{"strategy": "BatchLongest"} }, "padding must be null"},
		{"unigram", func(m map[string]any) { m["model"].(map[string]any)["type"] = "Unigram" }, "model.type Unigram is not supported"},
		{"single_word", func(m map[string]any) { m["added_tokens"].([]any)[0].(map[string]any)["single_word"] = true }, "single_word true is not supported"},
		{"lookahead_regex", func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\s+(?!\S)`}, "behavior": "Isolated", "invert": false}
		}, `pre_tokenizer.pattern.Regex "\\s+(?!\\S)"`},
		{"unknown_top_key", func(m map[string]any) { m["extra"] = 1 }, `unknown field "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(base, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			b, _ := json.Marshal(m)
			_, err := FromFiles(map[string][]byte{"tokenizer.json": b, "tokenizer_config.json": []byte(`{"eos_token": "<|endoftext|>"}`)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromFiles = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// No end-of-sequence token anywhere.
	if _, err := FromFiles(map[string][]byte{"tokenizer.json": base}); err == nil || !strings.Contains(err.Error(), "no end-of-sequence token") {
		t.Fatalf("FromFiles without eos = %v", err)
	}
	// generation_config.json decides which token ends a completion.
	tk, err := FromFiles(map[string][]byte{"tokenizer.json": base, "generation_config.json": []byte(`{"eos_token_id": 5, "pad_token_id": 6}`),
		"tokenizer_config.json": []byte(`{"eos_token": "<|endoftext|>"}`)})
	if err != nil || tk.EOSID() != 5 || tk.PadID() != 6 {
		t.Fatalf("generation_config ids: %v, eos %d pad %d", err, tk.EOSID(), tk.PadID())
	}
	if _, err := FromFiles(map[string][]byte{"tokenizer.json": base, "generation_config.json": []byte(`{"eos_token_id": [5, 7]}`),
		"tokenizer_config.json": []byte(`{"eos_token": "<|endoftext|>"}`)}); err == nil || !strings.Contains(err.Error(), "eos_token_id") {
		t.Fatalf("two stop tokens: %v", err)
	}
}

// A GPT-2 directory with only the slow tokenizer's vocab.json and
// merges.txt gets the tokenizer.json transformers would convert them to:
// the gpt2_bytelevel fixture's ids.
func TestGPT2SlowFiles(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "hf", "gpt2_bytelevel", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges [][2]string    `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f.Model.Vocab["<|endoftext|>"] = 304
	vocab, _ := json.Marshal(f.Model.Vocab)
	merges := "#version: 0.2\n"
	for _, m := range f.Model.Merges {
		merges += m[0] + " " + m[1] + "\n"
	}
	tk, err := FromFiles(map[string][]byte{"vocab.json": vocab, "merges.txt": []byte(merges),
		"special_tokens_map.json": []byte(`{"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadFixture(t, "gpt2_bytelevel")
	for _, s := range []string{"hello world", "it's 12+345=357\n\n  x", "a<|endoftext|>b", "Café 🙂"} {
		a, err1 := tk.Encode(s)
		b, err2 := ref.Encode(s)
		if err1 != nil || err2 != nil || !slices.Equal(a, b) {
			t.Errorf("Encode(%q) = %v %v, fixture %v %v", s, a, err1, b, err2)
		}
	}
	if tk.EOSID() != 304 {
		t.Errorf("eos %d", tk.EOSID())
	}
}
