package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// savedTiny writes a small checkpoint and returns its directory.
func savedTiny(t *testing.T) string {
	t.Helper()
	m, opt := trainedTiny(t)
	dir := filepath.Join(t.TempDir(), "ck")
	ck := &Checkpoint{Weights: m.W, Optim: opt, Step: 3, Files: map[string][]byte{"tokenizer.json": []byte(`{}`)}}
	if err := ck.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rewrite replaces a checkpoint file and fixes its manifest checksum, so
// only the content is hostile.
func rewrite(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, name), b, 0o644)
	mp := filepath.Join(dir, "manifest.json")
	mb, _ := os.ReadFile(mp)
	var man map[string]any
	json.Unmarshal(mb, &man)
	s := sha256.Sum256(b)
	man["sha256"].(map[string]any)[name] = hex.EncodeToString(s[:])
	mb, _ = json.Marshal(man)
	os.WriteFile(mp, mb, 0o644)
}

// loadWithin fails the test when LoadCheckpoint takes longer than d (a
// blocked read) and returns its error.
func loadWithin(t *testing.T, dir string, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := LoadCheckpoint(dir); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("LoadCheckpoint(%s) still running after %v", dir, d)
		return nil
	}
}

// Issue 12: /dev/zero or a FIFO in place of model.safetensors is refused
// before reading (it used to run out of memory or block forever).
func TestCheckpointRefusesNonRegularFiles(t *testing.T) {
	dir := savedTiny(t)
	mf := filepath.Join(dir, "model.safetensors")
	os.Remove(mf)
	os.Symlink("/dev/zero", mf)
	if err := loadWithin(t, dir, 5*time.Second); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("/dev/zero: %v", err)
	}
	os.Remove(mf)
	if err := syscall.Mkfifo(mf, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := loadWithin(t, dir, 5*time.Second); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("FIFO: %v", err)
	}
}

// Issue 12: a config.json claiming n_positions 2^40 or n_layer 2e9 is
// refused before anything is allocated; a tensor file larger than the
// config implies is refused before it is read.
func TestCheckpointBoundsFromConfig(t *testing.T) {
	for _, edit := range []func(map[string]any){
		func(m map[string]any) { m["n_positions"] = 1 << 40 },
		func(m map[string]any) { m["n_layer"] = 2e9 },
		func(m map[string]any) { m["vocab_size"] = 1 << 30 },
		func(m map[string]any) { m["n_embd"] = 1 << 20 },
	} {
		dir := savedTiny(t)
		b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		rewrite(t, dir, "config.json", b)
		if err := loadWithin(t, dir, 5*time.Second); err == nil || !strings.Contains(err.Error(), "upper limit") {
			t.Fatalf("config %s: %v", b, err)
		}
	}
	dir := savedTiny(t)
	mf := filepath.Join(dir, "model.safetensors")
	b, _ := os.ReadFile(mf)
	big := append(b, make([]byte, 1<<27)...)
	rewrite(t, dir, "model.safetensors", big)
	if err := loadWithin(t, dir, 5*time.Second); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("oversized model.safetensors: %v", err)
	}
}

// Issue 12: two tensors sharing bytes are refused.
func TestSafetensorsOverlapRefused(t *testing.T) {
	h := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	b := make([]byte, 8+len(h)+12)
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	copy(b[8:], h)
	if _, _, err := decodeSafetensors("x", b); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("overlap: %v", err)
	}
	// a shape whose element count overflows is refused, not wrapped around
	h = `{"a":{"dtype":"F32","shape":[268435456,268435456,268435456,64],"data_offsets":[0,0]}}`
	b = make([]byte, 8+len(h))
	binary.LittleEndian.PutUint64(b, uint64(len(h)))
	copy(b[8:], h)
	if _, _, err := decodeSafetensors("x", b); err == nil {
		t.Fatal("overflowing shape accepted")
	}
}

// Issue 12: a negative step in state.json is refused.
func TestCheckpointNegativeStep(t *testing.T) {
	dir := savedTiny(t)
	b, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	var m map[string]any
	json.Unmarshal(b, &m)
	m["step"] = -5
	b, _ = json.Marshal(m)
	rewrite(t, dir, "state.json", b)
	if err := loadWithin(t, dir, 5*time.Second); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Fatalf("step -5: %v", err)
	}
}
