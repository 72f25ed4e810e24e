package policy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/internal/kern"
)

// Hugging Face GPT-2 directories in and out.
//
// A directory as transformers' save_pretrained writes it for
// GPT2LMHeadModel (config.json with model_type "gpt2", model.safetensors or
// a sharded model.safetensors.index.json, tokenizer files) loads as a
// Checkpoint with step 0: ImportHF. Every key of config.json is either
// honoured, checked against the one value entrolab's network implements, or
// refused by name; no key is accepted and ignored unless GPT2LMHeadModel
// itself ignores it (see hfKeys). The config.json entrolab writes into every
// checkpoint is the same format (hfConfigJSON), so exports load in
// transformers unedited.

// HFTokenizerFiles are the files of a model directory the tokenizer is made
// from; ImportHF keeps those present in Checkpoint.Files.
var HFTokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt"}

// maxHFConfigBytes bounds config-like files read from an import.
const maxHFConfigBytes = 64 << 20

// keyRule says what one config.json key does.
type keyRule int

const (
	keyShape   keyRule = iota // read into Config
	keyChecked                // must have the value entrolab implements
	keyTokens                 // token ids, passed to the tokenizer through generation_config.json
	keyInert                  // GPT2LMHeadModel's forward does not read it (or only in training mode: dropout)
)

// hfKeys is every config.json key a GPT-2 directory may have. The inert
// ones: metadata (architectures is checked), HF training-mode dropout rates
// (entrolab trains without dropout and writes 0), generate() defaults
// (entrolab samples with its own sampling.* settings), the heads of other
// GPT-2 classes (summary_*, id2label), and output switches.
var hfKeys = map[string]keyRule{
	"vocab_size": keyShape, "n_positions": keyShape, "n_embd": keyShape, "n_layer": keyShape, "n_head": keyShape,
	"initializer_range": keyShape, "seed": keyShape, "tie_word_embeddings": keyShape,

	"model_type": keyChecked, "architectures": keyChecked, "n_inner": keyChecked, "n_ctx": keyChecked,
	"activation_function": keyChecked, "layer_norm_epsilon": keyChecked, "scale_attn_weights": keyChecked,
	"scale_attn_by_inverse_layer_idx": keyChecked, "add_cross_attention": keyChecked, "is_encoder_decoder": keyChecked,
	"pruned_heads": keyChecked, "chunk_size_feed_forward": keyChecked, "torchscript": keyChecked,
	"untied_lm_head": keyChecked, // entrolab's own older key: must agree with tie_word_embeddings

	"bos_token_id": keyTokens, "eos_token_id": keyTokens, "pad_token_id": keyTokens,

	"reorder_and_upcast_attn": keyInert, // upcasts fp16 scores to fp32: entrolab computes in fp32 throughout
	"resid_pdrop":             keyInert, "embd_pdrop": keyInert, "attn_pdrop": keyInert, "summary_first_dropout": keyInert,
	"summary_type": keyInert, "summary_use_proj": keyInert, "summary_activation": keyInert, "summary_proj_to_labels": keyInert,
	"id2label": keyInert, "label2id": keyInert, "problem_type": keyInert, "num_labels": keyInert, "finetuning_task": keyInert,
	"use_cache": keyInert, "output_attentions": keyInert, "output_hidden_states": keyInert, "return_dict": keyInert,
	"torch_dtype": keyInert, "dtype": keyInert, "transformers_version": keyInert, "_name_or_path": keyInert,
	"tokenizer_class": keyInert, "prefix": keyInert, "task_specific_params": keyInert, "is_decoder": keyInert,
	"sep_token_id": keyInert, "decoder_start_token_id": keyInert, "tie_encoder_decoder": keyInert,
	"max_length": keyInert, "min_length": keyInert, "do_sample": keyInert, "early_stopping": keyInert,
	"num_beams": keyInert, "num_beam_groups": keyInert, "temperature": keyInert, "top_k": keyInert, "top_p": keyInert,
	"typical_p": keyInert, "repetition_penalty": keyInert, "length_penalty": keyInert, "no_repeat_ngram_size": keyInert,
	"encoder_no_repeat_ngram_size": keyInert, "bad_words_ids": keyInert, "num_return_sequences": keyInert,
	"output_scores": keyInert, "return_dict_in_generate": keyInert, "forced_bos_token_id": keyInert,
	"forced_eos_token_id": keyInert, "remove_invalid_values": keyInert, "exponential_decay_length_penalty": keyInert,
	"suppress_tokens": keyInert, "begin_suppress_tokens": keyInert, "diversity_penalty": keyInert,
}

// SpecialTokens are the token ids config.json records (-1: none).
type SpecialTokens struct{ BOS, EOS, Pad int }

// ParseHFConfig reads a GPT-2 config.json strictly. file names it in errors.
func ParseHFConfig(file string, b []byte) (Config, SpecialTokens, error) {
	sp := SpecialTokens{-1, -1, -1}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Config{}, sp, fmt.Errorf("policy: %s: %v", file, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := hfKeys[k]; !ok {
			return Config{}, sp, fmt.Errorf("policy: %s: key %q is not supported for GPT-2 (entrolab implements GPT2LMHeadModel; a key it does not know could change the maths)", file, k)
		}
	}
	bad := func(k string, want string) error {
		return fmt.Errorf("policy: %s: %s = %s is not supported: %s", file, k, m[k], want)
	}
	has := func(k string) bool { v, ok := m[k]; return ok && string(v) != "null" }
	num := func(k string) (float64, bool, error) {
		if !has(k) {
			return 0, false, nil
		}
		var f float64
		if err := json.Unmarshal(m[k], &f); err != nil {
			return 0, true, fmt.Errorf("policy: %s: %s = %s: want a number", file, k, m[k])
		}
		return f, true, nil
	}
	integer := func(k string, dst *int, required bool) error {
		f, ok, err := num(k)
		if err != nil {
			return err
		}
		if !ok {
			if required {
				return fmt.Errorf("policy: %s: %s is missing", file, k)
			}
			return nil
		}
		if f != math.Trunc(f) || f < 0 || f > 1<<53 { // sizes: Validate checks the upper limits
			return fmt.Errorf("policy: %s: %s = %s: want a non-negative integer", file, k, m[k])
		}
		*dst = int(f)
		return nil
	}
	boolean := func(k string, def bool) (bool, error) {
		if !has(k) {
			return def, nil
		}
		var v bool
		if err := json.Unmarshal(m[k], &v); err != nil {
			return false, fmt.Errorf("policy: %s: %s = %s: want true or false", file, k, m[k])
		}
		return v, nil
	}
	str := func(k string) (string, bool) {
		var s string
		if !has(k) || json.Unmarshal(m[k], &s) != nil {
			return "", false
		}
		return s, true
	}

	if s, _ := str("model_type"); s != "gpt2" {
		return Config{}, sp, bad("model_type", `want "gpt2"`)
	}
	if has("architectures") {
		var a []string
		if err := json.Unmarshal(m["architectures"], &a); err != nil {
			return Config{}, sp, bad("architectures", "want a list of class names")
		}
		for _, x := range a {
			if x != "GPT2LMHeadModel" && x != "GPT2Model" {
				return Config{}, sp, bad("architectures", `want ["GPT2LMHeadModel"] (a language-model head)`)
			}
		}
	}
	c := Config{InitStd: 0.02, Seed: 0}
	for _, x := range []struct {
		k   string
		dst *int
	}{{"vocab_size", &c.Vocab}, {"n_embd", &c.DModel}, {"n_layer", &c.NLayers}, {"n_head", &c.NHeads}, {"n_positions", &c.MaxSeqLen}} {
		if err := integer(x.k, x.dst, true); err != nil {
			return Config{}, sp, err
		}
	}
	if f, ok, err := num("initializer_range"); err != nil {
		return Config{}, sp, err
	} else if ok {
		c.InitStd = f
	}
	var seed int
	if err := integer("seed", &seed, false); err != nil {
		return Config{}, sp, err
	}
	c.Seed = uint64(seed)
	tied, err := boolean("tie_word_embeddings", true)
	if err != nil {
		return Config{}, sp, err
	}
	c.Untied = !tied
	if has("untied_lm_head") {
		u, err := boolean("untied_lm_head", false)
		if err != nil {
			return Config{}, sp, err
		}
		if has("tie_word_embeddings") && u == tied {
			return Config{}, sp, fmt.Errorf("policy: %s: untied_lm_head = %v contradicts tie_word_embeddings = %v", file, u, tied)
		}
		c.Untied = u
	}
	var nctx int
	if err := integer("n_ctx", &nctx, false); err != nil {
		return Config{}, sp, err
	} else if has("n_ctx") && nctx != c.MaxSeqLen {
		return Config{}, sp, bad("n_ctx", fmt.Sprintf("want n_positions (%d)", c.MaxSeqLen))
	}
	var inner int
	if err := integer("n_inner", &inner, false); err != nil {
		return Config{}, sp, err
	} else if has("n_inner") && inner != 4*c.DModel {
		return Config{}, sp, bad("n_inner", fmt.Sprintf("want null or 4 * n_embd = %d (entrolab's MLP is 4x wide)", 4*c.DModel))
	}
	if has("activation_function") {
		if s, _ := str("activation_function"); s != "gelu_new" && s != "gelu_pytorch_tanh" {
			return Config{}, sp, bad("activation_function", `want "gelu_new" or "gelu_pytorch_tanh" (the tanh GELU entrolab implements)`)
		}
	}
	if f, ok, err := num("layer_norm_epsilon"); err != nil {
		return Config{}, sp, err
	} else if ok && math.Abs(f-kern.LNEps) > 1e-12 {
		return Config{}, sp, bad("layer_norm_epsilon", fmt.Sprintf("want %g (entrolab's LayerNorm epsilon)", kern.LNEps))
	}
	for _, x := range []struct {
		k    string
		want bool
	}{{"scale_attn_weights", true}, {"scale_attn_by_inverse_layer_idx", false}, {"add_cross_attention", false},
		{"is_encoder_decoder", false}, {"torchscript", false}} {
		v, err := boolean(x.k, x.want)
		if err != nil {
			return Config{}, sp, err
		}
		if v != x.want {
			return Config{}, sp, bad(x.k, fmt.Sprintf("want %v", x.want))
		}
	}
	if has("pruned_heads") && strings.TrimSpace(string(m["pruned_heads"])) != "{}" {
		return Config{}, sp, bad("pruned_heads", "want {} (pruned heads change the shapes)")
	}
	if f, ok, err := num("chunk_size_feed_forward"); err != nil {
		return Config{}, sp, err
	} else if ok && f != 0 {
		return Config{}, sp, bad("chunk_size_feed_forward", "want 0")
	}
	for _, x := range []struct {
		k   string
		dst *int
	}{{"bos_token_id", &sp.BOS}, {"eos_token_id", &sp.EOS}, {"pad_token_id", &sp.Pad}} {
		if !has(x.k) {
			continue
		}
		var list []int
		if err := json.Unmarshal(m[x.k], &list); err == nil { // a list of stop ids
			if len(list) == 0 {
				return Config{}, sp, bad(x.k, "want a token id")
			}
			for _, id := range list[1:] {
				if id != list[0] {
					return Config{}, sp, bad(x.k, "several different ids are not supported")
				}
			}
			*x.dst = list[0]
		} else if err := integer(x.k, x.dst, false); err != nil {
			return Config{}, sp, err
		}
		if *x.dst >= c.Vocab {
			return Config{}, sp, bad(x.k, fmt.Sprintf("want an id below vocab_size %d", c.Vocab))
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, sp, fmt.Errorf("%s: %w", file, err)
	}
	return c, sp, nil
}

// hfConfigJSON renders the config.json of a checkpoint: GPT-2 keys that
// transformers' AutoConfig reads, with the token ids of sp (-1: omitted)
// and entrolab's init seed.
func hfConfigJSON(c Config, sp SpecialTokens) []byte {
	type kv struct {
		k string
		v any
	}
	list := []kv{
		{"architectures", []string{"GPT2LMHeadModel"}},
		{"model_type", "gpt2"},
		{"vocab_size", c.Vocab}, {"n_positions", c.MaxSeqLen}, {"n_embd", c.DModel}, {"n_layer", c.NLayers}, {"n_head", c.NHeads},
		{"n_inner", nil},
		{"activation_function", "gelu_new"},
		{"layer_norm_epsilon", kern.LNEps},
		{"initializer_range", c.InitStd},
		{"resid_pdrop", 0.0}, {"embd_pdrop", 0.0}, {"attn_pdrop", 0.0},
		{"scale_attn_weights", true}, {"scale_attn_by_inverse_layer_idx", false}, {"reorder_and_upcast_attn", false},
		{"tie_word_embeddings", !c.Untied},
	}
	for _, x := range []kv{{"bos_token_id", sp.BOS}, {"eos_token_id", sp.EOS}, {"pad_token_id", sp.Pad}} {
		if x.v.(int) >= 0 {
			list = append(list, x)
		}
	}
	list = append(list, kv{"use_cache", true}, kv{"torch_dtype", "float32"}, kv{"seed", c.Seed})
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, x := range list {
		v, _ := json.Marshal(x.v)
		fmt.Fprintf(&b, "  %q: %s", x.k, v)
		if i < len(list)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// specialFromFiles reads bos/eos/pad ids from a generation_config.json
// among files (what the tokenizer files say); all -1 without one.
func specialFromFiles(files map[string][]byte) SpecialTokens {
	sp := SpecialTokens{-1, -1, -1}
	var g struct {
		BOS *int `json:"bos_token_id"`
		EOS *int `json:"eos_token_id"`
		Pad *int `json:"pad_token_id"`
	}
	if b := files["generation_config.json"]; b != nil && json.Unmarshal(b, &g) == nil {
		for _, x := range []struct {
			src *int
			dst *int
		}{{g.BOS, &sp.BOS}, {g.EOS, &sp.EOS}, {g.Pad, &sp.Pad}} {
			if x.src != nil {
				*x.dst = *x.src
			}
		}
	}
	return sp
}

// GenerationConfigJSON is a generation_config.json with the given ids.
func GenerationConfigJSON(sp SpecialTokens) []byte {
	m := map[string]any{"_from_model_config": false}
	if sp.BOS >= 0 {
		m["bos_token_id"] = sp.BOS
	}
	if sp.EOS >= 0 {
		m["eos_token_id"] = sp.EOS
	}
	if sp.Pad >= 0 {
		m["pad_token_id"] = sp.Pad
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// IsHFDir reports whether dir looks like a Hugging Face model directory
// (config.json, no entrolab manifest.json).
func IsHFDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

// maxHFWeightBytes bounds one safetensors file of an import (GPT-2 XL in
// float32 is 6.4 GB).
const maxHFWeightBytes = 8 << 30

// ImportHF reads a Hugging Face GPT-2 directory as a step-0 checkpoint
// (no optimizer state): weights with or without the "transformer." prefix,
// attn.bias / attn.masked_bias buffers skipped, F16/BF16/F64 converted to
// float32, lm_head.weight required when tie_word_embeddings is false (and,
// when present in a tied model, equal to wte). The tokenizer files present
// are kept in Files; without a generation_config.json one is made from
// config.json's token ids, as transformers does.
func ImportHF(dir string) (*Checkpoint, error) {
	cfgPath := filepath.Join(dir, "config.json")
	cb, err := readBounded(cfgPath, maxHFConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("policy: import %s: %w", dir, err)
	}
	cfg, sp, err := ParseHFConfig(cfgPath, cb)
	if err != nil {
		return nil, err
	}
	tensors, err := readHFWeights(dir)
	if err != nil {
		return nil, err
	}
	// Names: strip a common "transformer." prefix; skip attention buffers.
	prefixed := false
	for n := range tensors {
		if strings.HasPrefix(n, "transformer.") {
			prefixed = true
		}
	}
	named := map[string]hfTensor{}
	for n, t := range tensors {
		if strings.HasSuffix(n, ".attn.bias") || strings.HasSuffix(n, ".attn.masked_bias") {
			continue // causal-mask buffers, not weights
		}
		full := n
		if !prefixed && n != "lm_head.weight" {
			full = "transformer." + n
		}
		if prefixed && !strings.HasPrefix(n, "transformer.") && n != "lm_head.weight" {
			return nil, fmt.Errorf("policy: import %s: tensor %q lacks the transformer. prefix the others have", dir, n)
		}
		named[full] = t
	}
	head, hasHead := named["lm_head.weight"]
	if !cfg.Untied && hasHead {
		delete(named, "lm_head.weight")
	}
	if cfg.Untied && !hasHead {
		return nil, fmt.Errorf("policy: import %s: tie_word_embeddings is false but there is no lm_head.weight", dir)
	}
	w := newEmptyWeights(cfg)
	for _, p := range w.List {
		t, ok := named[p.Name]
		if !ok {
			return nil, fmt.Errorf("policy: import %s: tensor %q is missing", dir, p.Name)
		}
		if !equalInts(t.shape, p.Shape) {
			return nil, fmt.Errorf("policy: import %s: tensor %q has shape %v, config.json wants %v", dir, p.Name, t.shape, p.Shape)
		}
		if err := t.read(p.Data); err != nil {
			return nil, fmt.Errorf("policy: import %s: tensor %q: %w", dir, p.Name, err)
		}
		delete(named, p.Name)
	}
	if len(named) > 0 {
		var left []string
		for n := range named {
			left = append(left, n)
		}
		sort.Strings(left)
		return nil, fmt.Errorf("policy: import %s: tensors %v are not part of GPT2LMHeadModel for this config", dir, left)
	}
	if !cfg.Untied && hasHead {
		if !equalInts(head.shape, w.Wte.Shape) {
			return nil, fmt.Errorf("policy: import %s: lm_head.weight has shape %v, wte %v", dir, head.shape, w.Wte.Shape)
		}
		hd := make([]float32, len(w.Wte.Data))
		if err := head.read(hd); err != nil {
			return nil, fmt.Errorf("policy: import %s: lm_head.weight: %w", dir, err)
		}
		for i := range hd {
			if hd[i] != w.Wte.Data[i] {
				return nil, fmt.Errorf("policy: import %s: tie_word_embeddings is true but lm_head.weight differs from wte (set tie_word_embeddings: false)", dir)
			}
		}
	}
	ck := &Checkpoint{Weights: w, Files: map[string][]byte{}}
	for _, name := range HFTokenizerFiles {
		b, err := readBounded(filepath.Join(dir, name), maxHFConfigBytes)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("policy: import %s: %w", dir, err)
		}
		ck.Files[name] = b
	}
	if ck.Files["generation_config.json"] == nil && (sp.BOS >= 0 || sp.EOS >= 0 || sp.Pad >= 0) {
		ck.Files["generation_config.json"] = GenerationConfigJSON(sp)
	}
	return ck, nil
}

// hfTensor is one tensor of a safetensors file, any float dtype.
type hfTensor struct {
	dtype string
	shape []int
	data  []byte
}

func (t hfTensor) read(dst []float32) error {
	size := map[string]int{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}[t.dtype]
	if len(t.data) != size*len(dst) {
		return fmt.Errorf("%d bytes for %d %s values", len(t.data), len(dst), t.dtype)
	}
	for i := range dst {
		switch t.dtype {
		case "F32":
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
		case "F64":
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.data[8*i:])))
		case "BF16":
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.data[2*i:])) << 16)
		case "F16":
			dst[i] = f16to32(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
	}
	return nil
}

// f16to32 converts IEEE half precision to float32 exactly.
func f16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(frac) / (1 << 24) // subnormal: frac * 2^-24
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// readHFWeights reads model.safetensors, or the shards a
// model.safetensors.index.json lists.
func readHFWeights(dir string) (map[string]hfTensor, error) {
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return readHFSafetensors(single)
	}
	idx := filepath.Join(dir, "model.safetensors.index.json")
	ib, err := readBounded(idx, maxHFConfigBytes)
	if err != nil {
		for _, other := range []string{"pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"} {
			if _, e := os.Stat(filepath.Join(dir, other)); e == nil {
				return nil, fmt.Errorf("policy: import %s: only safetensors weights are read, not %s (save with safe_serialization=True)", dir, other)
			}
		}
		return nil, fmt.Errorf("policy: import %s: no model.safetensors or model.safetensors.index.json", dir)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(ib, &index); err != nil || len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("policy: %s: want {\"weight_map\": {tensor: file}}", idx)
	}
	out := map[string]hfTensor{}
	done := map[string]bool{}
	for tensor, shard := range index.WeightMap {
		if shard != filepath.Base(shard) || strings.HasPrefix(shard, ".") {
			return nil, fmt.Errorf("policy: %s: shard %q of %q is not a plain file name", idx, shard, tensor)
		}
		if done[shard] {
			continue
		}
		done[shard] = true
		ts, err := readHFSafetensors(filepath.Join(dir, shard))
		if err != nil {
			return nil, err
		}
		for n, t := range ts {
			if _, dup := out[n]; dup {
				return nil, fmt.Errorf("policy: %s: tensor %q is in two shards", idx, n)
			}
			out[n] = t
		}
	}
	return out, nil
}

// readHFSafetensors decodes a safetensors file of float tensors.
func readHFSafetensors(file string) (map[string]hfTensor, error) {
	b, err := readBounded(file, maxHFWeightBytes)
	if err != nil {
		return nil, fmt.Errorf("policy: import: %w", err)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("policy: %s: truncated: %d bytes, no header", file, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) || n > 100<<20 {
		return nil, fmt.Errorf("policy: %s: header length %d exceeds the file (%d bytes)", file, n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("policy: %s: damaged header: %v", file, err)
	}
	data := b[8+n:]
	out := map[string]hfTensor{}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("policy: %s: tensor %q: damaged entry: %v", file, k, err)
		}
		size := map[string]int{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}[e.DType]
		if size == 0 {
			return nil, fmt.Errorf("policy: %s: tensor %q has dtype %s (supported: F32, F16, BF16, F64)", file, k, e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 || d > 1<<31 {
				return nil, fmt.Errorf("policy: %s: tensor %q has bad shape %v", file, k, e.Shape)
			}
			count *= d
			if count > 1<<32 {
				return nil, fmt.Errorf("policy: %s: tensor %q has bad shape %v", file, k, e.Shape)
			}
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > len(data) {
			return nil, fmt.Errorf("policy: %s: tensor %q data [%d, %d) lies outside the %d data bytes", file, k, e.Offsets[0], e.Offsets[1], len(data))
		}
		if e.Offsets[1]-e.Offsets[0] != size*count {
			return nil, fmt.Errorf("policy: %s: tensor %q has %d bytes for %s shape %v (want %d)", file, k, e.Offsets[1]-e.Offsets[0], e.DType, e.Shape, size*count)
		}
		out[k] = hfTensor{dtype: e.DType, shape: e.Shape, data: data[e.Offsets[0]:e.Offsets[1]]}
	}
	return out, nil
}

// ExportHF writes w as a Hugging Face GPT-2 directory at dir, which must not
// exist or be empty: model.safetensors (float32, "transformer." names,
// lm_head.weight only when untied), config.json (hfConfigJSON, token ids
// from files' generation_config.json) and files (tokenizer.json,
// tokenizer_config.json, special_tokens_map.json, generation_config.json).
// It is written into a sibling temporary directory and renamed into place.
func ExportHF(w *Weights, files map[string][]byte, dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("policy: export: %s exists and is not empty", dir)
	}
	out := map[string][]byte{}
	names, shapes, data := []string{}, map[string][]int{}, map[string][]float32{}
	for _, p := range w.List {
		names = append(names, p.Name)
		shapes[p.Name], data[p.Name] = p.Shape, p.Data
	}
	out["model.safetensors"] = encodeSafetensors(names, shapes, data, map[string]string{"format": "pt"})
	out["config.json"] = hfConfigJSON(w.Cfg, specialFromFiles(files))
	for name, b := range files {
		if out[name] != nil || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return fmt.Errorf("policy: export: file name %q is reserved or not a plain name", name)
		}
		out[name] = b
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("policy: export: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("policy: export: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("policy: export: %w", err)
	}
	for name, b := range out {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return fmt.Errorf("policy: export %s: %w", name, err)
		}
	}
	os.Remove(dir) // an empty directory
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("policy: export: %w", err)
	}
	return nil
}
