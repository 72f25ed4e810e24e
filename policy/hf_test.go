package policy

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// hfDir writes w as a Hugging Face directory with this test's own
// safetensors writer: names mapped by rename (drop returns ""), values in
// dtype (F32, F16 or BF16), extra tensors added, config.json edited.
func hfDir(t *testing.T, w *Weights, dtype string, rename func(string) string, extra map[string][]float32, edit func(map[string]any)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hf")
	if err := ExportHF(w, nil, dir); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	b, _ = json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)

	type ent struct {
		name  string
		shape []int
		data  []float32
	}
	var ents []ent
	for _, p := range w.List {
		n := p.Name
		if rename != nil {
			n = rename(n)
		}
		if n != "" {
			ents = append(ents, ent{n, p.Shape, p.Data})
		}
	}
	for n, d := range extra {
		shape := []int{len(d)}
		if n == "lm_head.weight" {
			shape = w.Wte.Shape
		}
		ents = append(ents, ent{n, shape, d})
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].name < ents[j].name })
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var body []byte
	for _, e := range ents {
		start := len(body)
		for _, v := range e.data {
			switch dtype {
			case "F32":
				body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
			case "BF16":
				body = binary.LittleEndian.AppendUint16(body, uint16(math.Float32bits(v)>>16))
			case "F16":
				body = binary.LittleEndian.AppendUint16(body, f32to16(v))
			}
		}
		hdr[e.name] = map[string]any{"dtype": dtype, "shape": e.shape, "data_offsets": []int{start, len(body)}}
	}
	h, _ := json.Marshal(hdr)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), body...)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), out, 0o644)
	return dir
}

// f32to16 converts a float32 that half precision represents exactly.
func f32to16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	if v == 0 {
		return sign
	}
	exp := int(b>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// coarseWeights are small random weights on a 1/128 grid in [-1, 1], which
// F16 and BF16 hold exactly.
func coarseWeights(t *testing.T, untied bool) *Weights {
	t.Helper()
	c := Config{Vocab: 11, DModel: 8, NLayers: 2, NHeads: 2, MaxSeqLen: 16, InitStd: 0.3, Seed: 5, Untied: untied}
	w, err := NewWeights(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range w.List {
		for i, v := range p.Data {
			p.Data[i] = float32(math.Max(-1, math.Min(1, math.Round(float64(v)*128)/128)))
		}
	}
	return w
}

func sameWeights(t *testing.T, a, b *Weights) {
	t.Helper()
	if a.Cfg.Untied != b.Cfg.Untied || len(a.List) != len(b.List) {
		t.Fatalf("configs differ: %+v vs %+v", a.Cfg, b.Cfg)
	}
	for i, p := range a.List {
		for j, v := range p.Data {
			if b.List[i].Data[j] != v {
				t.Fatalf("%s[%d] = %v, want %v", p.Name, j, b.List[i].Data[j], v)
			}
		}
	}
}

func TestImportHFForms(t *testing.T) {
	hub := func(n string) string { return strings.TrimPrefix(n, "transformer.") }
	buffers := map[string][]float32{"h.0.attn.bias": {1, 0, 1, 1}, "h.1.attn.bias": {1, 0, 1, 1}, "h.0.attn.masked_bias": {-1e4}}
	for _, tc := range []struct {
		name   string
		untied bool
		dtype  string
		rename func(string) string
		extra  map[string][]float32
	}{
		{"f32_prefixed", false, "F32", nil, nil},
		{"bf16_hub_names_buffers", false, "BF16", hub, buffers},
		{"f16_untied", true, "F16", nil, nil},
		{"bf16_untied_hub", true, "BF16", hub, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := coarseWeights(t, tc.untied)
			dir := hfDir(t, w, tc.dtype, tc.rename, tc.extra, nil)
			ck, err := LoadCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, w, ck.Weights)
		})
	}
	// A tied model that stores lm_head.weight: equal to wte is fine, else refused.
	w := coarseWeights(t, false)
	dir := hfDir(t, w, "F32", nil, map[string][]float32{"lm_head.weight": w.Wte.Data}, nil)
	if _, err := LoadCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	other := append([]float32(nil), w.Wte.Data...)
	other[3] += 0.5
	dir = hfDir(t, w, "F32", nil, map[string][]float32{"lm_head.weight": other}, nil)
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "lm_head.weight differs from wte") {
		t.Fatalf("tied with a different lm_head: %v", err)
	}
	dir = hfDir(t, w, "F32", nil, nil, func(c map[string]any) { c["tie_word_embeddings"] = false })
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "no lm_head.weight") {
		t.Fatalf("untied without lm_head: %v", err)
	}
	dir = hfDir(t, w, "F32", nil, map[string][]float32{"transformer.h.0.attn.rotary": {1}}, nil)
	if _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "transformer.h.0.attn.rotary") {
		t.Fatalf("unexpected tensor: %v", err)
	}
}

// Mis-set configs fail naming the key (issue 16: these were accepted and
// ignored, so the model ran other maths than its config said).
func TestImportHFRefusesConfigKeys(t *testing.T) {
	w := coarseWeights(t, false)
	for _, tc := range []struct {
		key string
		val any
	}{
		{"layer_norm_epsilon", 1e-3},
		{"activation_function", "gelu"},
		{"activation_function", "relu"},
		{"n_inner", 64},
		{"model_type", "llama"},
		{"architectures", []string{"GPT2ForSequenceClassification"}},
		{"scale_attn_weights", false},
		{"scale_attn_by_inverse_layer_idx", true},
		{"add_cross_attention", true},
		{"n_ctx", 1024},
		{"rotary_dim", 16},
		{"pruned_heads", map[string]any{"0": []int{1}}},
		{"untied_lm_head", true},
		{"vocab_size", 12},
		{"eos_token_id", 99},
		{"eos_token_id", []int{1, 2}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			dir := hfDir(t, w, "F32", nil, nil, func(c map[string]any) { c[tc.key] = tc.val })
			_, err := LoadCheckpoint(dir)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("%s = %v: LoadCheckpoint = %v, want an error naming the key", tc.key, tc.val, err)
			}
		})
	}
	// What an HF GPT-2 config.json carries beyond the shapes loads.
	dir := hfDir(t, w, "F32", nil, nil, func(c map[string]any) {
		c["resid_pdrop"], c["summary_type"], c["transformers_version"] = 0.1, "cls_index", "4.46.0"
		c["task_specific_params"] = map[string]any{"text-generation": map[string]any{"do_sample": true}}
		c["activation_function"], c["n_inner"], c["n_ctx"] = "gelu_pytorch_tanh", 32, 16
	})
	if _, err := LoadCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
}

// Checkpoints write GPT-2's config.json and read it back; older ones (no
// model_type) still load.
func TestCheckpointConfigIsGPT2(t *testing.T) {
	w := coarseWeights(t, true)
	dir := filepath.Join(t.TempDir(), "ck")
	gen := GenerationConfigJSON(SpecialTokens{BOS: 1, EOS: 2, Pad: 0})
	if err := (&Checkpoint{Weights: w, Files: map[string][]byte{"generation_config.json": gen}}).Save(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, want := range map[string]any{"model_type": "gpt2", "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
		"tie_word_embeddings": false, "eos_token_id": 2.0, "bos_token_id": 1.0, "pad_token_id": 0.0} {
		if m[k] != want {
			t.Errorf("config.json %s = %v, want %v", k, m[k], want)
		}
	}
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, w, ck.Weights)
}

func TestF16To32(t *testing.T) {
	for h, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x0001: 1.0 / (1 << 24), 0x03ff: 1023.0 / (1 << 24),
		0x7bff: 65504, 0x3555: 0.333251953125, 0x8000: float32(math.Copysign(0, -1))} {
		if got := f16to32(h); got != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Errorf("f16to32(%#04x) = %v, want %v", h, got, want)
		}
	}
	if !math.IsInf(float64(f16to32(0x7c00)), 1) || !math.IsNaN(float64(f16to32(0x7e00))) {
		t.Errorf("Inf/NaN")
	}
}
