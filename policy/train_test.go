package policy

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestPinnedLogits pins the logits of a seeded model on a fixed batch. The
// file changes only with -update (a deliberate change of init or numerics).
func TestPinnedLogits(t *testing.T) {
	cfg := Config{Vocab: 16, DModel: 32, NLayers: 2, NHeads: 4, MaxSeqLen: 8, InitStd: 0.1, Seed: 42}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bt := NewBatch(2, 8)
	bt.SetRow(0, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 0)
	bt.SetRow(1, []int32{15, 0, 3, 3, 12}, 1, 0)
	n := 16
	logits := make([]float32, n*cfg.Vocab)
	lp, ent := make([]float64, n), make([]float64, n)
	if err := m.LogProbs(bt, 1, lp, ent, logits); err != nil {
		t.Fatal(err)
	}
	const path = "testdata/logits.golden"
	if *update {
		var sb strings.Builder
		sb.WriteString("# produced by TestPinnedLogits (go test ./policy -run PinnedLogits -update): V16 D32 L2 H4 seed 42, batch 2x8\n")
		for i, v := range logits {
			fmt.Fprintf(&sb, "%d %.9g\n", i, v)
		}
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cnt := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var i int
		var s string
		fmt.Sscan(line, &i, &s)
		want, _ := strconv.ParseFloat(s, 32)
		// OpenBLAS and gonum sum in different orders: allow float32 rounding.
		if d := math.Abs(float64(logits[i]) - want); d > 2e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("logit %d = %v, pinned %v", i, logits[i], want)
		}
		cnt++
	}
	if cnt != len(logits) {
		t.Fatalf("golden has %d logits, model gives %d", cnt, len(logits))
	}
}

// TestCopyTaskLearns trains on a copy task (the second half of each
// sequence repeats the first), which needs working attention, and checks
// that the loss on the copied half falls far below its start.
func TestCopyTaskLearns(t *testing.T) {
	cfg := Config{Vocab: 12, DModel: 32, NLayers: 2, NHeads: 2, MaxSeqLen: 16, InitStd: 0.05, Seed: 7}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	oc := DefaultOptimConfig()
	oc.LR = 3e-3
	oc.Warmup = 10
	opt := NewAdamW(oc, m.W)
	r := rand.New(rand.NewPCG(1, 1))
	const half = 7
	batch := func() *Batch {
		bt := NewBatch(32, 2*half+1)
		for i := 0; i < 32; i++ {
			seq := make([]int32, 2*half+2)
			seq[0] = 11 // bos
			for j := 1; j <= half; j++ {
				seq[j] = int32(1 + r.IntN(9))
			}
			seq[half+1] = 10 // separator
			for j := 0; j < half; j++ {
				seq[half+2+j] = seq[1+j]
			}
			bt.SetRow(i, seq[:2*half+2], half+2, 0)
		}
		return bt
	}
	var first, last float64
	for step := 0; step < 150; step++ {
		loss, _, err := m.Accumulate(batch(), 1, lossObjective(nil))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Step(opt); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	t.Logf("copy task: loss %.3f -> %.3f", first, last)
	if !(last < 0.25*first) {
		t.Fatalf("copy-task loss fell from %.3f to only %.3f", first, last)
	}
}

// TestGradientsDoNotLeak: two identical steps from identical states give
// identical updates, so nothing from the first survives into the second.
func TestGradientsDoNotLeak(t *testing.T) {
	m, _ := New(tinyConfig(false))
	r := rand.New(rand.NewPCG(2, 2))
	bt := tinyBatch(r, 3, 5, m.W.Cfg.Vocab)
	m.Accumulate(bt, 1, lossObjective(nil))
	g1 := append([]float32(nil), m.Grads[2]...)
	m.ZeroGrad()
	m.Accumulate(bt, 1, lossObjective(nil))
	for i := range g1 {
		if g1[i] != m.Grads[2][i] {
			t.Fatalf("gradient %d differs between identical runs: %v vs %v", i, g1[i], m.Grads[2][i])
		}
	}
	// accumulation over two micro-batches is the sum
	m.Accumulate(bt, 1, lossObjective(nil))
	for i := range g1 {
		if d := math.Abs(float64(2*g1[i] - m.Grads[2][i])); d > 1e-6 {
			t.Fatalf("two accumulations give %v, want %v", m.Grads[2][i], 2*g1[i])
		}
	}
}

// TestReplicasAgree: 1 and 3 replicas compute the same gradient.
func TestReplicasAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	bt := tinyBatch(r, 5, 5, 7)
	var ref [][]float32
	for _, reps := range []int{1, 3} {
		m, _ := New(tinyConfig(false))
		m.Replicas = reps
		if _, _, err := m.Accumulate(bt, 0.9, lossObjective(nil)); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = m.Grads
			continue
		}
		for i := range ref {
			for j := range ref[i] {
				if d := math.Abs(float64(ref[i][j] - m.Grads[i][j])); d > 1e-5 {
					t.Fatalf("replicas=%d: grad %s[%d] = %v, replicas=1 gives %v", reps, m.W.List[i].Name, j, m.Grads[i][j], ref[i][j])
				}
			}
		}
	}
}

func TestObjectiveErrorsPropagate(t *testing.T) {
	m, _ := New(tinyConfig(false))
	m.Replicas = 2
	r := rand.New(rand.NewPCG(4, 4))
	bt := tinyBatch(r, 4, 5, 7)
	bad := func(in *HeadInput, g *HeadGrad) (float64, map[string]float64, error) {
		return math.NaN(), nil, nil
	}
	if _, _, err := m.Accumulate(bt, 1, bad); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("NaN loss gave %v", err)
	}
	// the graph is still usable afterwards
	if _, _, err := m.Accumulate(bt, 1, lossObjective(nil)); err != nil {
		t.Fatalf("after a failed run: %v", err)
	}
}
