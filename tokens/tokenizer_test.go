package tokens

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/tokenizer"
)

func TestVocabulary(t *testing.T) {
	tk := New()
	if got := tk.VocabSize(); got != 25 {
		t.Fatalf("VocabSize() = %d, want 25", got)
	}
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"pad", tk.PadID(), 0}, {"bos", tk.BOSID(), 1}, {"eos", tk.EOSID(), 2}, {"unk", tk.UnkID(), 3},
	} {
		if tc.got != tc.want {
			t.Errorf("%sID() = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	for i, r := range Alphabet {
		id, ok := tk.ID(string(r))
		if !ok || id != 4+i {
			t.Errorf("ID(%q) = %d, %v, want %d", r, id, ok, 4+i)
		}
		if tk.IsSpecial(id) {
			t.Errorf("IsSpecial(%d) = true for %q", id, r)
		}
	}
	for _, name := range []string{PadToken, BOSToken, EOSToken, UnkToken} {
		id, ok := tk.ID(name)
		if !ok || !tk.IsSpecial(id) {
			t.Errorf("ID(%s) = %d, %v; want a special id", name, id, ok)
		}
		if tok, _ := tk.Token(id); tok != name {
			t.Errorf("Token(%d) = %q, want %q", id, tok, name)
		}
	}
	if _, ok := tk.ID("12"); ok {
		t.Errorf(`ID("12") exists; digits must never merge`)
	}
	if got := tk.lib.GetVocabSize(true); got != tk.VocabSize() {
		t.Errorf("library vocab size = %d, want %d", got, tk.VocabSize())
	}
}

func TestEncode(t *testing.T) {
	tk := New()
	cases := []struct {
		name string
		in   string
		want []int
	}{
		{"empty", "", []int{}},
		{"addition", "12+345=", []int{5, 6, 14, 7, 8, 9, 20}},
		{"repeated_digits", "1111", []int{5, 5, 5, 5}},
		{"countdown", "3,7,25>31:", []int{7, 21, 11, 21, 6, 9, 23, 7, 5, 22}},
		{"expression", "(25+7)-3/1*0", []int{18, 6, 9, 14, 11, 19, 15, 7, 17, 5, 16, 4}},
		{"spaces", " 1  2 ", []int{24, 5, 24, 24, 6, 24}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tk.Encode(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Encode(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			}
			lib, err := tk.libEncode(tc.in)
			if err != nil || !slices.Equal(lib, tc.want) {
				t.Fatalf("library Encode(%q) = %v, %v, want %v", tc.in, lib, err, tc.want)
			}
			if back := tk.Decode(got); back != tc.in {
				t.Fatalf("Decode(Encode(%q)) = %q", tc.in, back)
			}
		})
	}
}

func TestEncodeUnknown(t *testing.T) {
	tk := New()
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"question_mark", "12+?=", `tokens: character "?" (U+003F) at byte 3 is not in the vocabulary`},
		{"letter", "x", `tokens: character "x" (U+0078) at byte 0 is not in the vocabulary`},
		{"newline", "1\n2", `tokens: character "\n" (U+000A) at byte 1 is not in the vocabulary`},
		{"special_name", "12<eos>", `tokens: character "<" (U+003C) at byte 2 is not in the vocabulary`},
		{"times_sign", "3×4", `tokens: character "×" (U+00D7) at byte 1 is not in the vocabulary`},
		{"invalid_utf8", "1\xff2", `tokens: invalid UTF-8 byte 0xff at byte 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := tk.Encode(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Encode(%q) = %v, %v, want error %q", tc.in, ids, err, tc.want)
			}
			if !errors.Is(err, ErrUnknownChar) {
				t.Fatalf("Encode(%q) error does not wrap ErrUnknownChar", tc.in)
			}
			var ce *CharError
			if !errors.As(err, &ce) {
				t.Fatalf("Encode(%q) error is not a *CharError", tc.in)
			}
			dst := []int{7}
			dst, err = tk.AppendEncode(dst, tc.in)
			if err == nil || !slices.Equal(dst, []int{7}) {
				t.Fatalf("AppendEncode([7], %q) = %v, %v, want [7] and an error", tc.in, dst, err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tk := New()
	cases := []struct {
		name     string
		ids      []int
		want     string
		untilEOS string
	}{
		{"plain", []int{5, 6, 14, 7}, "12+3", "12+3"},
		{"eos", []int{9, 2, 0, 0}, "5<eos><pad><pad>", "5"},
		{"bos_inside", []int{1, 9, 1}, "<bos>5<bos>", "<bos>5<bos>"},
		{"out_of_range", []int{-1, 5, 25, 1 << 40}, "<unk>1<unk><unk>", "<unk>1<unk><unk>"},
		{"empty", nil, "", ""},
		{"eos_first", []int{2, 5}, "<eos>1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tk.Decode(tc.ids); got != tc.want {
				t.Fatalf("Decode(%v) = %q, want %q", tc.ids, got, tc.want)
			}
			if got := tk.DecodeUntilEOS(tc.ids); got != tc.untilEOS {
				t.Fatalf("DecodeUntilEOS(%v) = %q, want %q", tc.ids, got, tc.untilEOS)
			}
		})
	}
	// For plain tokens the library's decoder (Fuse) agrees.
	ids := []int{5, 6, 14, 7, 24, 18, 19}
	if got, want := tk.lib.Decode(ids, false), tk.Decode(ids); got != want {
		t.Fatalf("library Decode(%v) = %q, want %q", ids, got, want)
	}
}

// randomText draws a string over the vocabulary's characters.
func randomText(r *rand.Rand, alphabet []rune, maxLen int) string {
	b := make([]rune, r.IntN(maxLen+1))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestEncodeMatchesLibrary(t *testing.T) {
	tk := New()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune(Alphabet)
	for range 5000 {
		s := randomText(r, alphabet, 80)
		fast, err := tk.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		lib, err := tk.libEncode(s)
		if err != nil || !slices.Equal(fast, lib) {
			t.Fatalf("Encode(%q) = %v, library gives %v, %v", s, fast, lib, err)
		}
		if back := tk.Decode(fast); back != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, back)
		}
	}
	// Out-of-vocabulary characters: both refuse, naming the same offset.
	for _, s := range []string{"1?2", "12+ab", "é1"} {
		_, err1 := tk.Encode(s)
		_, err2 := tk.libEncode(s)
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Fatalf("Encode(%q) error %v, library error %v; want the same", s, err1, err2)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	tk := New()
	if err := tk.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("Save left %d files in the directory, want 1", len(entries))
	}
	// The file is a HuggingFace tokenizer.json in the library's schema.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg tokenizer.Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("tokenizer.json does not decode as tokenizer.Config: %v", err)
	}
	if cfg.Model["type"] != "WordLevel" || cfg.PreTokenizer["type"] != "Split" || len(cfg.AddedTokens) != 4 {
		t.Fatalf("tokenizer.json = %s", data)
	}
	if !strings.Contains(string(data), `"<eos>": 2`) {
		t.Fatalf("tokenizer.json lacks an unescaped, id-ordered vocab:\n%s", data)
	}

	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !slices.Equal(loaded.Tokens(), tk.Tokens()) || loaded.PadID() != tk.PadID() ||
		loaded.BOSID() != tk.BOSID() || loaded.EOSID() != tk.EOSID() || loaded.UnkID() != tk.UnkID() {
		t.Fatalf("Load(Save(New())) vocabulary %v differs from %v", loaded.Tokens(), tk.Tokens())
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		s := randomText(r, []rune(Alphabet), 40)
		a, _ := tk.Encode(s)
		b, _ := loaded.Encode(s)
		c, err := loaded.libEncode(s)
		if !slices.Equal(a, b) || !slices.Equal(a, c) || err != nil {
			t.Fatalf("Encode(%q): new %v, loaded %v, loaded library %v", s, a, b, c)
		}
	}
	// Saving again writes the same bytes, over the old file.
	if err := loaded.Save(path); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if string(again) != string(data) {
		t.Fatalf("second Save wrote different bytes")
	}
	if err := tk.Save(filepath.Join(dir, "missing", "tokenizer.json")); err == nil {
		t.Fatalf("Save into a missing directory succeeded")
	}
}

// builtinFile returns New()'s tokenizer.json decoded as a generic map, for
// the tests to corrupt.
func builtinFile(t *testing.T) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := New().Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadErrors(t *testing.T) {
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	vocab := func(m map[string]any) map[string]any { return model(m)["vocab"].(map[string]any) }
	cases := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"bad_regex", func(m map[string]any) {
			m["pre_tokenizer"].(map[string]any)["pattern"] = map[string]any{"Regex": "("}
		}, `pre_tokenizer.pattern.Regex "("`},
		{"merging_regex", func(m map[string]any) {
			m["pre_tokenizer"].(map[string]any)["pattern"] = map[string]any{"Regex": "[0-9]+"}
		}, "pre_tokenizer does not split every character"},
		{"decoder", func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }, "decoder.type WordPiece is not supported"},
		{"id_gap", func(m map[string]any) { vocab(m)["+"] = 99.0 }, `model.vocab["+"] = 99: ids must be integers in [0, 25)`},
		{"id_clash", func(m map[string]any) { vocab(m)["+"] = 4.0 }, "model.vocab: id 4 is used by"},
		{"merged_digits", func(m map[string]any) { delete(vocab(m), "+"); vocab(m)["12"] = 14.0 }, `token "12" (id 14) is not a single character`},
		{"no_eos", func(m map[string]any) {
			m["added_tokens"] = m["added_tokens"].([]any)[:2]
		}, "added_tokens: <eos> must be a special token"},
		{"unk_missing", func(m map[string]any) { model(m)["unk_token"] = "[UNK]" }, `model.unk_token "[UNK]" is not in model.vocab`},
		{"added_not_in_vocab", func(m map[string]any) {
			m["added_tokens"] = append(m["added_tokens"].([]any), map[string]any{"id": 25.0, "content": "<sep>", "special": true})
		}, `added_tokens: "<sep>" is not in model.vocab`},
		{"added_wrong_id", func(m map[string]any) {
			m["added_tokens"].([]any)[2].(map[string]any)["id"] = 7.0
		}, `added_tokens: "<eos>" has id 7, model.vocab says 2`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := builtinFile(t)
			tc.edit(m)
			_, err := Load(writeJSON(t, m))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load() = %v, want an error containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "tokens: load ") {
				t.Fatalf("Load() = %q, want the tokens: prefix", err)
			}
		})
	}
	// Files of other shapes than the character tokenizer's go through the
	// general path (hf.go) and load.
	for name, edit := range map[string]func(m map[string]any){
		"bpe":             func(m map[string]any) { model(m)["type"] = "BPE"; model(m)["merges"] = []any{} },
		"whitespace":      func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} },
		"no_pretokenizer": func(m map[string]any) { m["pre_tokenizer"] = nil },
		"removed":         func(m map[string]any) { m["pre_tokenizer"].(map[string]any)["behavior"] = "Removed" },
		"normalizer":      func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Lowercase"} },
	} {
		m := builtinFile(t)
		edit(m)
		if _, err := Load(writeJSON(t, m)); err != nil {
			t.Errorf("%s: Load() = %v, want the general path to load it", name, err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Fatalf("Load(missing file) succeeded")
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := Load(path); err == nil {
		t.Fatalf("Load(invalid JSON) succeeded")
	}
}

// A vocabulary with a non-ASCII character goes through the rune map, and
// Load keeps the library's ids.
func TestLoadCustomVocabulary(t *testing.T) {
	m := builtinFile(t)
	v := m["model"].(map[string]any)["vocab"].(map[string]any)
	v["×"] = 25.0
	v["\n"] = 26.0
	tk, err := Load(writeJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"3×4=12", "1\n\n2×", "×"} {
		fast, err1 := tk.Encode(s)
		lib, err2 := tk.libEncode(s)
		if err1 != nil || err2 != nil || !slices.Equal(fast, lib) {
			t.Fatalf("Encode(%q) = %v, %v; library %v, %v", s, fast, err1, lib, err2)
		}
		if tk.Decode(fast) != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, tk.Decode(fast))
		}
	}
}

func TestEncodeDoesNotAllocateWithCapacity(t *testing.T) {
	tk := New()
	dst := make([]int, 0, 64)
	if n := testing.AllocsPerRun(100, func() { dst, _ = tk.AppendEncode(dst[:0], "3,7,25>31:25+7-3") }); n != 0 {
		t.Fatalf("AppendEncode allocates %v times per call", n)
	}
}
