package entropy

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The golden files in testdata/golden are copies of
// shared/algorithms/golden/*.json, produced by refimpl/entropy_ref.py and
// refimpl/adv_clip_ref.py (PyTorch autograd, float64); see each file's
// "generator" field and shared/algorithms/golden/README_ENTROPY.md.

type goldenFile struct {
	Method    string `json:"method"`
	Generator string `json:"generator"`
	Tolerance struct {
		Rtol float64 `json:"rtol"`
		Atol float64 `json:"atol"`
	} `json:"tolerance"`
	Cases []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name        string                     `json:"name"`
	Kind        string                     `json:"kind"`
	Inputs      map[string]json.RawMessage `json:"inputs"`
	Hyper       map[string]json.RawMessage `json:"hyperparameters"`
	Params      map[string]json.RawMessage `json:"params"`
	StateBefore map[string]json.RawMessage `json:"state_before"`
	Expected    map[string]json.RawMessage `json:"expected"`
	StateAfter  map[string]json.RawMessage `json:"state_after"`
}

func loadGolden(t *testing.T, name string) goldenFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(g.Cases) == 0 {
		t.Fatalf("%s: no cases", name)
	}
	return g
}

// tol compares floats as |got − want| ≤ atol + rtol·|want|.
type tol struct {
	t          *testing.T
	rtol, atol float64
	where      string
}

func newTol(t *testing.T, g goldenFile, c goldenCase) *tol {
	return &tol{t: t, rtol: g.Tolerance.Rtol, atol: g.Tolerance.Atol, where: c.Name}
}

func dec[T any](t *testing.T, m map[string]json.RawMessage, key string) T {
	t.Helper()
	var v T
	raw, ok := m[key]
	if !ok {
		t.Fatalf("missing key %q", key)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	return v
}

func (c *tol) ok(got, want float64) bool {
	return math.Abs(got-want) <= c.atol+c.rtol*math.Abs(want)
}

func (c *tol) f(name string, got, want float64) {
	c.t.Helper()
	if !c.ok(got, want) || math.IsNaN(got) {
		c.t.Errorf("%s(%s) = %.17g, want %.17g", name, c.where, got, want)
	}
}

func (c *tol) f1(name string, got, want []float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s(%s): length %d, want %d", name, c.where, len(got), len(want))
		return
	}
	for i := range want {
		if !c.ok(got[i], want[i]) || math.IsNaN(got[i]) {
			c.t.Errorf("%s(%s)[%d] = %.17g, want %.17g", name, c.where, i, got[i], want[i])
			return
		}
	}
}

func (c *tol) f2(name string, got, want [][]float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s(%s): %d rows, want %d", name, c.where, len(got), len(want))
		return
	}
	for i := range want {
		c.f1(fmt.Sprintf("%s[%d]", name, i), got[i], want[i])
	}
}

func (c *tol) f3(name string, got, want [][][]float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s(%s): %d rows, want %d", name, c.where, len(got), len(want))
		return
	}
	for i := range want {
		c.f2(fmt.Sprintf("%s[%d]", name, i), got[i], want[i])
	}
}

// i2 compares 0/1 or integer matrices exactly.
func (c *tol) i2(name string, got [][]float64, want [][]int) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s(%s): %d rows, want %d", name, c.where, len(got), len(want))
		return
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			c.t.Errorf("%s(%s)[%d]: length %d, want %d", name, c.where, i, len(got[i]), len(want[i]))
			return
		}
		for j := range want[i] {
			if got[i][j] != float64(want[i][j]) {
				c.t.Errorf("%s(%s)[%d][%d] = %v, want %d", name, c.where, i, j, got[i][j], want[i][j])
				return
			}
		}
	}
}

func (c *tol) i(name string, got, want int) {
	c.t.Helper()
	if got != want {
		c.t.Errorf("%s(%s) = %d, want %d", name, c.where, got, want)
	}
}

func toF2(x [][]int) [][]float64 {
	out := make([][]float64, len(x))
	for i, row := range x {
		out[i] = make([]float64, len(row))
		for j, v := range row {
			out[i][j] = float64(v)
		}
	}
	return out
}

func broadcast(seq []float64, mask [][]float64) [][]float64 {
	out := make([][]float64, len(mask))
	for b, row := range mask {
		out[b] = make([]float64, len(row))
		for t := range row {
			out[b][t] = seq[b]
		}
	}
	return out
}
