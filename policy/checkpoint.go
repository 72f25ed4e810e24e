package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Checkpoint is everything needed to continue a run exactly. On disk it is
// a directory:
//
//	model.safetensors      weights, HuggingFace GPT-2 tensor names, float32
//	config.json            the network Config as GPT-2's config.json (hf.go)
//	optimizer.safetensors  AdamW moments ("exp_avg.<name>", "exp_avg_sq.<name>")
//	optimizer.json         AdamW config and step count
//	state.json             step, RNG stream states, caller state (Extra)
//	<Files>                caller files, e.g. tokenizer.json
//	manifest.json          SHA-256 of every file above
//
// The directory is written next to its final place and renamed into it, so
// a reader sees the old checkpoint or the new one, never half of one, and the
// manifest catches a damaged file.
type Checkpoint struct {
	Weights *Weights
	Optim   *AdamW                     // nil: no optimizer state
	Step    int                        // updates taken
	RNG     map[string][]byte          // named RNG states (MarshalBinary)
	Extra   map[string]json.RawMessage // caller state (controllers, data position)
	Files   map[string][]byte          // extra files stored verbatim
}

type stateFile struct {
	Step  int                        `json:"step"`
	RNG   map[string][]byte          `json:"rng,omitempty"`
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

type optimFile struct {
	Config OptimConfig `json:"config"`
	Step   int         `json:"step"`
}

var reserved = map[string]bool{"model.safetensors": true, "config.json": true, "optimizer.safetensors": true,
	"optimizer.json": true, "state.json": true, "manifest.json": true}

// encode returns the checkpoint's files.
func (c *Checkpoint) encode() (map[string][]byte, error) {
	if c.Weights == nil {
		return nil, errors.New("policy: checkpoint has no weights")
	}
	files := map[string][]byte{}
	w := c.Weights
	names, shapes, data := []string{}, map[string][]int{}, map[string][]float32{}
	for _, p := range w.List {
		names = append(names, p.Name)
		shapes[p.Name], data[p.Name] = p.Shape, p.Data
	}
	files["model.safetensors"] = encodeSafetensors(names, shapes, data, map[string]string{"format": "pt"})
	files["config.json"] = hfConfigJSON(w.Cfg, specialFromFiles(c.Files)) // GPT-2 keys (hf.go)
	if c.Optim != nil {
		names, shapes, data = nil, map[string][]int{}, map[string][]float32{}
		for i, p := range w.List {
			for _, k := range []struct {
				pre string
				v   []float32
			}{{"exp_avg.", c.Optim.M[i]}, {"exp_avg_sq.", c.Optim.V[i]}} {
				names = append(names, k.pre+p.Name)
				shapes[k.pre+p.Name], data[k.pre+p.Name] = p.Shape, k.v
			}
		}
		files["optimizer.safetensors"] = encodeSafetensors(names, shapes, data, nil)
		o, _ := json.MarshalIndent(optimFile{Config: c.Optim.Cfg, Step: c.Optim.Step}, "", "  ")
		files["optimizer.json"] = append(o, '\n')
	}
	st, err := json.MarshalIndent(stateFile{Step: c.Step, RNG: c.RNG, Extra: c.Extra}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("policy: checkpoint state: %w", err)
	}
	files["state.json"] = append(st, '\n')
	for name, b := range c.Files {
		if reserved[name] || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("policy: checkpoint file name %q is reserved or not a plain name", name)
		}
		files[name] = b
	}
	sums := map[string]string{}
	for name, b := range files {
		sums[name] = sha256hex(b)
	}
	man, _ := json.MarshalIndent(map[string]any{"format": "entrolab-checkpoint/1", "sha256": sums}, "", "  ")
	files["manifest.json"] = append(man, '\n')
	return files, nil
}

// Save writes c to dir atomically: into a sibling temporary directory first,
// each file synced, then renamed over dir.
func (c *Checkpoint) Save(dir string) error {
	files, err := c.encode()
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("policy: checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("policy: checkpoint: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("policy: checkpoint: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := atomicfile.Write(filepath.Join(tmp, n), files[n]); err != nil {
			return fmt.Errorf("policy: checkpoint %s: %w", n, err)
		}
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("policy: checkpoint: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("policy: checkpoint: %w", err)
	}
	atomicfile.SyncDir(parent)
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// LoadCheckpoint reads a checkpoint directory. A missing, truncated, damaged
// or mismatched file is an error naming the file and the problem. A Hugging
// Face GPT-2 directory (config.json, no manifest.json) is imported by
// ImportHF.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	if IsHFDir(dir) {
		return ImportHF(dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: checkpoint %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("policy: checkpoint %s is not a directory", dir)
	}
	read := func(name string, limit int64) ([]byte, error) {
		return readBounded(filepath.Join(dir, name), limit)
	}
	manB, err := read("manifest.json", maxSmallFile)
	if err != nil {
		return nil, err
	}
	var man struct {
		Format string            `json:"format"`
		SHA256 map[string]string `json:"sha256"`
	}
	if err := json.Unmarshal(manB, &man); err != nil {
		return nil, fmt.Errorf("policy: %s: damaged: %v", filepath.Join(dir, "manifest.json"), err)
	}
	for _, need := range []string{"model.safetensors", "config.json", "state.json"} {
		if _, ok := man.SHA256[need]; !ok {
			return nil, fmt.Errorf("policy: checkpoint %s: %s is missing from the manifest", dir, need)
		}
	}
	for name := range man.SHA256 {
		if name != filepath.Base(name) || name == "manifest.json" || name == "." || name == ".." || name == "" {
			return nil, fmt.Errorf("policy: %s: bad file name %q", filepath.Join(dir, "manifest.json"), name)
		}
	}
	files := map[string][]byte{}
	load := func(name string, limit int64) error {
		b, err := read(name, limit)
		if err != nil {
			return err
		}
		if sha256hex(b) != man.SHA256[name] {
			return fmt.Errorf("policy: %s: checksum mismatch (%d bytes): the file is truncated or damaged", filepath.Join(dir, name), len(b))
		}
		files[name] = b
		return nil
	}
	// config.json first: it bounds the sizes of the tensor files
	if err := load("config.json", maxSmallFile); err != nil {
		return nil, err
	}
	var cfg Config
	if bytes.Contains(files["config.json"], []byte(`"model_type"`)) {
		if cfg, _, err = ParseHFConfig(filepath.Join(dir, "config.json"), files["config.json"]); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(files["config.json"], &cfg); err != nil { // before the GPT-2 keys
		return nil, fmt.Errorf("policy: %s: %v", filepath.Join(dir, "config.json"), err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	weights := int64(cfg.NumParams()) * 4
	names := make([]string, 0, len(man.SHA256))
	for name := range man.SHA256 {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		limit := int64(maxCallerFile)
		switch name {
		case "config.json":
			continue
		case "model.safetensors":
			limit = 8 + maxHeader + weights
		case "optimizer.safetensors":
			limit = 8 + maxHeader + 2*weights
		case "state.json", "optimizer.json":
			limit = maxStateFile
		}
		if err := load(name, limit); err != nil {
			return nil, err
		}
	}
	// the tensor files must hold the data the config describes: a small
	// file with a config claiming billions of weights allocates nothing
	if n := int64(len(files["model.safetensors"])); n < 8+weights {
		return nil, fmt.Errorf("policy: %s has %d bytes; the %d weights of %s need %d", filepath.Join(dir, "model.safetensors"), n, weights/4, filepath.Join(dir, "config.json"), 8+weights)
	}
	if b, ok := files["optimizer.safetensors"]; ok && int64(len(b)) < 8+2*weights {
		return nil, fmt.Errorf("policy: %s has %d bytes; the optimizer moments of %d weights need %d", filepath.Join(dir, "optimizer.safetensors"), len(b), weights/4, 8+2*weights)
	}
	w := newEmptyWeights(cfg)
	mf := filepath.Join(dir, "model.safetensors")
	ents, data, err := decodeSafetensors(mf, files["model.safetensors"])
	if err != nil {
		return nil, err
	}
	for _, p := range w.List {
		if err := readTensor(mf, ents, data, p.Name, p.Shape, p.Data); err != nil {
			return nil, err
		}
	}
	if len(ents) != len(w.List) {
		return nil, fmt.Errorf("policy: %s: %d tensors, the config has %d", mf, len(ents), len(w.List))
	}
	ck := &Checkpoint{Weights: w, Files: map[string][]byte{}}
	if ob := files["optimizer.json"]; ob != nil {
		var of optimFile
		if err := json.Unmarshal(ob, &of); err != nil {
			return nil, fmt.Errorf("policy: %s: %v", filepath.Join(dir, "optimizer.json"), err)
		}
		if of.Step < 0 {
			return nil, fmt.Errorf("policy: %s: step = %d, want >= 0", filepath.Join(dir, "optimizer.json"), of.Step)
		}
		if files["optimizer.safetensors"] == nil {
			return nil, fmt.Errorf("policy: checkpoint %s: optimizer.json without optimizer.safetensors", dir)
		}
		o := NewAdamW(of.Config, w)
		o.Step = of.Step
		of2 := filepath.Join(dir, "optimizer.safetensors")
		ents, data, err := decodeSafetensors(of2, files["optimizer.safetensors"])
		if err != nil {
			return nil, err
		}
		for i, p := range w.List {
			if err := readTensor(of2, ents, data, "exp_avg."+p.Name, p.Shape, o.M[i]); err != nil {
				return nil, err
			}
			if err := readTensor(of2, ents, data, "exp_avg_sq."+p.Name, p.Shape, o.V[i]); err != nil {
				return nil, err
			}
		}
		ck.Optim = o
	}
	var sf stateFile
	if err := json.Unmarshal(files["state.json"], &sf); err != nil {
		return nil, fmt.Errorf("policy: %s: %v", filepath.Join(dir, "state.json"), err)
	}
	if sf.Step < 0 {
		return nil, fmt.Errorf("policy: %s: step = %d, want >= 0", filepath.Join(dir, "state.json"), sf.Step)
	}
	ck.Step, ck.RNG, ck.Extra = sf.Step, sf.RNG, sf.Extra
	for name, b := range files {
		if !reserved[name] {
			ck.Files[name] = b
		}
	}
	return ck, nil
}

// Bounds on what LoadCheckpoint reads: every file is checked to be a
// regular file no larger than its bound before it is read, the tensor files
// against the sizes config.json implies.
const (
	maxSmallFile  = 1 << 20   // manifest.json, config.json
	maxStateFile  = 64 << 20  // state.json, optimizer.json
	maxCallerFile = 256 << 20 // tokenizer.json, run.json, ...
	maxHeader     = 1 << 26   // a safetensors header
)

// readBounded reads a regular file of at most limit bytes. It refuses a
// device, FIFO or directory before opening it for reading (the open does not
// block), and reads at most limit+1 bytes whatever the file claims.
func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("policy: checkpoint file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("policy: %s is not a regular file (%v)", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("policy: %s has %d bytes, more than the %d its checkpoint allows", path, st.Size(), limit)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("policy: checkpoint file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("policy: %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("policy: %s grew past %d bytes while being read", path, limit)
	}
	return b, nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
