package policy

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func trainedTiny(t *testing.T) (*Model, *AdamW) {
	t.Helper()
	m, err := New(tinyConfig(false))
	if err != nil {
		t.Fatal(err)
	}
	opt := NewAdamW(DefaultOptimConfig(), m.W)
	r := rand.New(rand.NewPCG(9, 9))
	bt := tinyBatch(r, 3, 5, m.W.Cfg.Vocab)
	for i := 0; i < 3; i++ {
		if _, _, err := m.Accumulate(bt, 1, lossObjective(nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Step(opt); err != nil {
			t.Fatal(err)
		}
	}
	return m, opt
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestCheckpointRoundTrip(t *testing.T) {
	m, opt := trainedTiny(t)
	rng := rand.NewPCG(1, 2)
	rs, _ := rng.MarshalBinary()
	ck := &Checkpoint{Weights: m.W, Optim: opt, Step: 3, RNG: map[string][]byte{"rollout": rs},
		Extra: map[string]json.RawMessage{"data": json.RawMessage(`{"pos":7}`)},
		Files: map[string][]byte{"tokenizer.json": []byte(`{"x":1}`)}}
	d := t.TempDir()
	a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
	if err := ck.Save(a); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Save(b); err != nil {
		t.Fatal(err)
	}
	fa, fb := readDir(t, a), readDir(t, b)
	if len(fa) != len(fb) {
		t.Fatalf("save -> load -> save wrote %d files, first save %d", len(fb), len(fa))
	}
	for name, x := range fa {
		if !bytes.Equal(x, fb[name]) {
			t.Errorf("%s differs after save -> load -> save", name)
		}
	}
	if got.Step != 3 || compact(got.Extra["data"]) != `{"pos":7}` || !bytes.Equal(got.RNG["rollout"], rs) || string(got.Files["tokenizer.json"]) != `{"x":1}` {
		t.Errorf("state not restored: step %d extra %s", got.Step, got.Extra["data"])
	}
	if got.Optim.Step != opt.Step {
		t.Errorf("optimizer step %d, want %d", got.Optim.Step, opt.Step)
	}
	// logits reproduce exactly
	r := rand.New(rand.NewPCG(3, 3))
	bt := tinyBatch(r, 2, 5, m.W.Cfg.Vocab)
	n := 10 * m.W.Cfg.Vocab
	la, lb := make([]float32, n), make([]float32, n)
	lp, ent := make([]float64, 10), make([]float64, 10)
	m.LogProbs(bt, 1, lp, ent, la)
	FromWeights(got.Weights).LogProbs(bt, 1, lp, ent, lb)
	for i := range la {
		if la[i] != lb[i] {
			t.Fatalf("logit %d: %v after load, %v before", i, lb[i], la[i])
		}
	}
	// overwrite in place keeps a loadable checkpoint
	if err := ck.Save(a); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(a); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(d)
	if len(ents) != 2 {
		t.Errorf("leftover temporary files: %v", ents)
	}
}

func TestCheckpointDamage(t *testing.T) {
	m, opt := trainedTiny(t)
	base := t.TempDir()
	src := filepath.Join(base, "ck")
	if err := (&Checkpoint{Weights: m.W, Optim: opt}).Save(src); err != nil {
		t.Fatal(err)
	}
	orig := readDir(t, src)
	cases := []struct {
		name, file string
		mutate     func([]byte) []byte
		want       string
	}{
		{"truncated_model", "model.safetensors", func(b []byte) []byte { return b[:len(b)/2] }, "model.safetensors"},
		{"flipped_byte", "optimizer.safetensors", func(b []byte) []byte { b = append([]byte(nil), b...); b[len(b)-3] ^= 0x40; return b }, "optimizer.safetensors"},
		{"empty_config", "config.json", func([]byte) []byte { return nil }, "config.json"},
		{"missing_state", "state.json", nil, "state.json"},
		{"bad_manifest", "manifest.json", func([]byte) []byte { return []byte("{") }, "manifest.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, tc.name)
			os.MkdirAll(dir, 0o755)
			for n, b := range orig {
				if n == tc.file {
					if tc.mutate == nil {
						continue
					}
					b = tc.mutate(b)
				}
				os.WriteFile(filepath.Join(dir, n), b, 0o644)
			}
			_, err := LoadCheckpoint(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadCheckpoint(%s) = %v, want an error naming %s", tc.name, err, tc.want)
			}
		})
	}
	// a structurally bad safetensors file with a matching manifest still
	// fails cleanly (shape mismatch: a model saved under another config)
	t.Run("shape_mismatch", func(t *testing.T) {
		other := tinyConfig(false)
		other.DModel = 12
		m2, _ := New(other)
		dir := filepath.Join(base, "mismatch")
		if err := (&Checkpoint{Weights: m2.W}).Save(dir); err != nil {
			t.Fatal(err)
		}
		cfg, _ := json.Marshal(tinyConfig(false))
		ck, _ := LoadCheckpoint(dir)
		ck.Files = nil
		b, _ := ck.encode()
		b["config.json"] = cfg
		// rewrite the manifest so only the shape check can catch it
		delete(b, "manifest.json")
		for n, x := range b {
			os.WriteFile(filepath.Join(dir, n), x, 0o644)
		}
		rewriteManifest(t, dir)
		_, err := LoadCheckpoint(dir)
		if err == nil || !strings.Contains(err.Error(), "shape") {
			t.Fatalf("LoadCheckpoint(mismatch) = %v, want a shape error", err)
		}
	})
}

func FuzzDecodeSafetensors(f *testing.F) {
	m, _ := New(tinyConfig(false))
	names, shapes, data := []string{}, map[string][]int{}, map[string][]float32{}
	for _, p := range m.W.List[:3] {
		names = append(names, p.Name)
		shapes[p.Name], data[p.Name] = p.Shape, p.Data
	}
	good := encodeSafetensors(names, shapes, data, nil)
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, d, err := decodeSafetensors("x", b)
		if err != nil {
			return
		}
		for name, e := range ents {
			dst := make([]float32, (e.Offsets[1]-e.Offsets[0])/4)
			readTensor("x", ents, d, name, e.Shape, dst)
		}
	})
}

func rewriteManifest(t *testing.T, dir string) {
	t.Helper()
	files := readDir(t, dir)
	delete(files, "manifest.json")
	sums := map[string]string{}
	for n, b := range files {
		sums[n] = sha256hex(b)
	}
	man, _ := json.MarshalIndent(map[string]any{"format": "entrolab-checkpoint/1", "sha256": sums}, "", "  ")
	os.WriteFile(filepath.Join(dir, "manifest.json"), man, 0o644)
}

func compact(b []byte) string {
	var out bytes.Buffer
	json.Compact(&out, b)
	return out.String()
}
