package tokens

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// FromFiles builds the tokenizer of a model directory from its files (name
// -> contents): tokenizer.json, and when present tokenizer_config.json,
// special_tokens_map.json, generation_config.json and config.json. Which
// token ends a completion and which pads come, in this order of precedence,
// from generation_config.json's eos_token_id / pad_token_id (what
// transformers' generate() stops on), config.json's, then the eos_token /
// pad_token of tokenizer_config.json or special_tokens_map.json, then the
// tokens named <eos> / <pad>. Without any pad token the eos token pads (as
// generate() does). bos_token names the token BOSID reports; the tokens a
// prompt starts with are the post-processor's.
func FromFiles(files map[string][]byte) (*Tokenizer, error) {
	tj := files["tokenizer.json"]
	if tj == nil && files["vocab.json"] != nil && files["merges.txt"] != nil {
		var err error
		if tj, err = gpt2SlowFiles(files); err != nil {
			return nil, fmt.Errorf("tokens: vocab.json + merges.txt: %w", err)
		}
	}
	if tj == nil {
		return nil, fmt.Errorf("tokens: no tokenizer.json (nor GPT-2's vocab.json and merges.txt)")
	}
	var names SpecialNames
	dst := map[string]*string{"bos_token": &names.BOS, "eos_token": &names.EOS, "pad_token": &names.Pad}
	if err := eachSetting(files, []string{"special_tokens_map.json", "tokenizer_config.json"}, []string{"bos_token", "eos_token", "pad_token"}, func(key string, v any) error {
		s, err := tokenName(v)
		*dst[key] = s
		return err
	}); err != nil {
		return nil, err
	}
	t, err := parse(tj, names)
	if err != nil {
		return nil, fmt.Errorf("tokens: tokenizer.json: %w", err)
	}
	ids := map[string]*int{"bos_token_id": &t.bos, "eos_token_id": &t.eos, "pad_token_id": &t.pad}
	if err := eachSetting(files, []string{"config.json", "generation_config.json"}, []string{"bos_token_id", "eos_token_id", "pad_token_id"}, func(key string, v any) error {
		id, err := tokenID(v, t.VocabSize())
		if err == nil {
			*ids[key] = id
		}
		return err
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// eachSetting calls set for every key of keys present and non-null in the
// JSON objects of the named files, in order (a later file wins); an error
// names the file and the key.
func eachSetting(files map[string][]byte, names, keys []string, set func(key string, v any) error) error {
	for _, f := range names {
		b := files[f]
		if b == nil {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("tokens: %s: %v", f, err)
		}
		for _, k := range keys {
			if v, ok := m[k]; ok && v != nil {
				if err := set(k, v); err != nil {
					return fmt.Errorf("tokens: %s: %s: %v", f, k, err)
				}
			}
		}
	}
	return nil
}

// tokenName reads "<eos>" or {"content": "<eos>", ...}.
func tokenName(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		if s, ok := x["content"].(string); ok {
			return s, nil
		}
	}
	return "", fmt.Errorf("%v is not a token (want a string or {\"content\": ...})", v)
}

// tokenID reads an id, or a list of ids that are all the same id (entrolab
// stops completions on one token).
func tokenID(v any, vocab int) (int, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	id := -1
	for _, x := range list {
		f, ok := x.(float64)
		if !ok || f != float64(int(f)) || f < 0 || int(f) >= vocab {
			return 0, fmt.Errorf("%v is not a token id in [0, %d)", v, vocab)
		}
		if id >= 0 && int(f) != id {
			return 0, fmt.Errorf("%v: several different stop tokens are not supported", v)
		}
		id = int(f)
	}
	if id < 0 {
		return 0, fmt.Errorf("empty list")
	}
	return id, nil
}

// HFFiles returns the tokenizer files of a Hugging Face model directory:
// tokenizer.json (Marshal), tokenizer_config.json and
// special_tokens_map.json naming bos, eos, pad and unk, so that transformers'
// and transformers.js' AutoTokenizer load the directory unedited, and
// generation_config.json with their ids (generate() stops at eos).
// maxLen is the model's context (model_max_length).
func (t *Tokenizer) HFFiles(maxLen int) (map[string][]byte, error) {
	tj, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	sp := map[string]any{}
	for _, x := range []struct {
		key string
		id  int
	}{{"bos_token", t.bos}, {"eos_token", t.eos}, {"pad_token", t.pad}, {"unk_token", t.unk}} {
		if x.id >= 0 && x.id < len(t.toks) {
			sp[x.key] = t.toks[x.id]
		}
	}
	decoder := map[string]any{}
	for id, tok := range t.toks {
		if t.special[id] {
			decoder[fmt.Sprint(id)] = map[string]any{"content": tok, "lstrip": false, "normalized": false,
				"rstrip": false, "single_word": false, "special": true}
		}
	}
	cfg := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"model_max_length":             maxLen,
		"clean_up_tokenization_spaces": false,
		"added_tokens_decoder":         decoder,
	}
	for k, v := range sp {
		cfg[k] = v
	}
	spB, _ := marshalIndentNoEscape(sp)
	cfgB, _ := marshalIndentNoEscape(cfg)
	gen := map[string]any{"_from_model_config": false, "eos_token_id": t.eos, "pad_token_id": t.pad}
	if t.bos >= 0 {
		gen["bos_token_id"] = t.bos
	}
	genB, _ := marshalIndentNoEscape(gen)
	return map[string][]byte{"tokenizer.json": tj, "tokenizer_config.json": cfgB, "special_tokens_map.json": spB,
		"generation_config.json": genB}, nil
}

func marshalIndentNoEscape(v any) ([]byte, error) {
	b, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	var out []byte
	out, err = indentJSON(b)
	return append(out, '\n'), err
}

func indentJSON(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	err := json.Indent(&buf, b, "", "  ")
	return buf.Bytes(), err
}

// gpt2SlowFiles builds the tokenizer.json of a directory that has only
// GPT-2's "slow" tokenizer files, vocab.json and merges.txt, the way
// transformers' GPT2TokenizerFast converts them: byte-level BPE (GPT-2
// pattern, add_prefix_space from tokenizer_config.json, default false),
// ByteLevel post-processor and decoder, and the special tokens that
// tokenizer_config.json / special_tokens_map.json name as added tokens.
func gpt2SlowFiles(files map[string][]byte) ([]byte, error) {
	var vocab map[string]int
	if err := json.Unmarshal(files["vocab.json"], &vocab); err != nil {
		return nil, fmt.Errorf("vocab.json: %v", err)
	}
	var merges []string
	for i, l := range bytes.Split(files["merges.txt"], []byte("\n")) {
		s := string(bytes.TrimRight(l, "\r"))
		if s == "" || (i == 0 && bytes.HasPrefix(l, []byte("#version"))) {
			continue
		}
		merges = append(merges, s)
	}
	prefix := false
	specials := map[string]bool{}
	for _, f := range []string{"special_tokens_map.json", "tokenizer_config.json"} {
		var m map[string]any
		if b := files[f]; b == nil || json.Unmarshal(b, &m) != nil {
			continue
		}
		if p, ok := m["add_prefix_space"].(bool); ok {
			prefix = p
		}
		for _, k := range []string{"bos_token", "eos_token", "unk_token", "pad_token"} {
			if v, ok := m[k]; ok && v != nil {
				if s, err := tokenName(v); err == nil {
					specials[s] = true
				}
			}
		}
	}
	var added []map[string]any
	for s := range specials {
		id, ok := vocab[s]
		if !ok {
			return nil, fmt.Errorf("special token %q is not in vocab.json", s)
		}
		added = append(added, map[string]any{"id": id, "content": s, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": true, "special": true})
	}
	sort.Slice(added, func(i, j int) bool { return added[i]["id"].(int) < added[j]["id"].(int) })
	bl := map[string]any{"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": true, "use_regex": true}
	return json.Marshal(map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added, "normalizer": nil,
		"pre_tokenizer": bl, "post_processor": bl, "decoder": bl,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "vocab": vocab, "merges": merges},
	})
}
