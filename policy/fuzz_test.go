package policy

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/internal/fuzzcount"
)

// writeCkpt writes files and a manifest with their true checksums.
func writeCkpt(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	sums := map[string]string{}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sums[n] = sha256hex(b)
	}
	man, _ := json.Marshal(map[string]any{"format": "entrolab-checkpoint/1", "sha256": sums})
	os.WriteFile(filepath.Join(dir, "manifest.json"), man, 0o644)
}

// FuzzLoadCheckpoint loads checkpoints whose files (with valid checksums,
// so the content itself is hostile) come from the fuzzer. It must never
// panic, hang or allocate without bound; an accepted checkpoint must hold
// exactly the tensors its config describes and save back to itself.
func FuzzLoadCheckpoint(f *testing.F) {
	m, err := New(tinyConfig(false))
	if err != nil {
		f.Fatal(err)
	}
	opt := NewAdamW(DefaultOptimConfig(), m.W)
	ck := &Checkpoint{Weights: m.W, Optim: opt, Step: 3}
	files, err := ck.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(files["model.safetensors"], files["config.json"], files["state.json"], files["optimizer.safetensors"], files["optimizer.json"])
	// the cases of issue 12: huge config sizes, a negative step, overlapping tensors
	for _, c := range []string{`{"vocab_size":64,"n_embd":8,"n_layer":1,"n_head":1,"n_positions":1099511627776,"initializer_range":0.02}`,
		`{"vocab_size":64,"n_embd":8,"n_layer":2000000000,"n_head":1,"n_positions":8,"initializer_range":0.02}`} {
		f.Add(files["model.safetensors"], []byte(c), files["state.json"], []byte(nil), []byte(nil))
	}
	f.Add(files["model.safetensors"], files["config.json"], []byte(`{"step":-5}`), []byte(nil), []byte(nil))
	h := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	ov := make([]byte, 8+len(h)+12)
	binary.LittleEndian.PutUint64(ov, uint64(len(h)))
	copy(ov[8:], h)
	f.Add(ov, files["config.json"], files["state.json"], []byte(nil), []byte(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, files["config.json"], files["state.json"], []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, model, config, state, optim, optimJSON []byte) {
		defer fuzzcount.Timer(t.Fatalf)()
		dir := t.TempDir()
		fs := map[string][]byte{"model.safetensors": model, "config.json": config, "state.json": state}
		if optimJSON != nil {
			fs["optimizer.json"], fs["optimizer.safetensors"] = optimJSON, optim
		}
		writeCkpt(t, dir, fs)
		got, err := LoadCheckpoint(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "policy: ") && !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("error names neither package nor file: %v", err)
			}
			fuzzcount.Record(false)
			return
		}
		if got.Step < 0 || (got.Optim != nil && got.Optim.Step < 0) {
			t.Fatalf("accepted a negative step %d", got.Step)
		}
		if len(got.Weights.List) != len(got.Weights.Cfg.paramSpecs()) {
			t.Fatalf("%d tensors for a config of %d", len(got.Weights.List), len(got.Weights.Cfg.paramSpecs()))
		}
		again := filepath.Join(t.TempDir(), "again")
		if err := got.Save(again); err != nil {
			t.Fatal(err)
		}
		back, err := LoadCheckpoint(again)
		if err != nil {
			t.Fatalf("an accepted checkpoint does not reload after saving: %v", err)
		}
		for i, p := range got.Weights.List {
			if !slices.Equal(p.Data, back.Weights.List[i].Data) && !hasNaN32(p.Data) {
				t.Fatalf("tensor %s changed on a save/load round trip", p.Name)
			}
		}
		fuzzcount.Record(true)
	})
}

func hasNaN32(xs []float32) bool {
	for _, x := range xs {
		if x != x {
			return true
		}
	}
	return false
}
