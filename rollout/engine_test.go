package rollout

import (
	"fmt"
	"math"
	"testing"

	"github.com/entrolab/entrolab/policy"
)

func testModel(t testing.TB, cfg policy.Config) *policy.Model {
	t.Helper()
	m, err := policy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func smallConfig() policy.Config {
	return policy.Config{Vocab: 11, DModel: 16, NLayers: 2, NHeads: 2, MaxSeqLen: 12, InitStd: 0.5, Seed: 3}
}

var testPrompts = [][]int32{{1, 2, 3}, {4}, {5, 6, 7, 8, 9}}

// maxMismatch recomputes every completion with the policy's forward pass and
// returns the largest |Δ log-prob| and |Δ entropy|.
func maxMismatch(t *testing.T, m *policy.Model, b *Batch) (float64, float64) {
	t.Helper()
	var worstLp, worstEnt float64
	for _, sq := range b.Seqs {
		p := b.Prompts[sq.Prompt]
		seq := append(append([]int32{}, p...), sq.Tokens...)
		tt := len(seq) - 1
		if tt < 1 {
			continue
		}
		// one row per distinct temperature is not needed: compare each token
		// at its own temperature through a batch of one row.
		for i := range sq.Tokens {
			bt := policy.NewBatch(1, tt)
			bt.SetRow(0, seq, len(p)+i, 0)
			for j := len(p) + i; j < tt; j++ {
				bt.Targets[j] = -1
			}
			lp, ent := make([]float64, tt), make([]float64, tt)
			if err := m.LogProbs(bt, sq.Temp[i], lp, ent, nil); err != nil {
				t.Fatal(err)
			}
			row := len(p) + i - 1
			worstLp = math.Max(worstLp, math.Abs(lp[row]-sq.Logp[i]))
			worstEnt = math.Max(worstEnt, math.Abs(ent[row]-sq.Entropy[i]))
		}
	}
	return worstLp, worstEnt
}

func TestLogProbsMatchPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  policy.Config
		s    Sampling
	}{
		{"t1", smallConfig(), Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 8, N: 2}},
		{"t0.7_topk", smallConfig(), Sampling{Temperature: 0.7, TopK: 4, TopP: 1, MaxNewTokens: 8, N: 2}},
		{"greedy", smallConfig(), Sampling{Temperature: 0, TopP: 1, MaxNewTokens: 8, N: 1}},
		{"topp_minp_untied", func() policy.Config { c := smallConfig(); c.Untied = true; c.NHeads = 4; return c }(),
			Sampling{Temperature: 1.3, TopP: 0.8, MinP: 0.05, MaxNewTokens: 9, N: 3}},
		{"adaptive_temp", smallConfig(), Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 6, N: 2,
			TokenTemp: func(h float64) float64 { return 0.8 + 0.1*h }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.cfg)
			e := New(m.W, 10)
			b, err := e.Generate(testPrompts, tc.s, 42)
			if err != nil {
				t.Fatal(err)
			}
			lp, ent := maxMismatch(t, m, b)
			t.Logf("max |Δlogp| = %.2g, max |Δentropy| = %.2g", lp, ent)
			if lp > 1e-4 || ent > 1e-4 {
				t.Fatalf("KV-cache log-probs differ from the forward pass: %g (entropy %g)", lp, ent)
			}
		})
	}
}

func TestSameSeedSameCompletions(t *testing.T) {
	m := testModel(t, smallConfig())
	s := Sampling{Temperature: 1, TopP: 0.95, MaxNewTokens: 8, N: 4}
	ref := func() *Batch {
		e := New(m.W, 10)
		e.Workers = 1
		b, err := e.Generate(testPrompts, s, 7)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	for _, workers := range []int{2, 3, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			e := New(m.W, 10)
			e.Workers = workers
			b, _ := e.Generate(testPrompts, s, 7)
			for i := range ref.Seqs {
				if fmt.Sprint(ref.Seqs[i].Tokens) != fmt.Sprint(b.Seqs[i].Tokens) {
					t.Fatalf("seq %d: %v, with 1 worker %v", i, b.Seqs[i].Tokens, ref.Seqs[i].Tokens)
				}
			}
		})
	}
	// a prompt's completions do not depend on the other prompts in the batch
	e := New(m.W, 10)
	b, _ := e.Generate(testPrompts[:1], s, 7)
	for i := range b.Seqs {
		if fmt.Sprint(ref.Seqs[i].Tokens) != fmt.Sprint(b.Seqs[i].Tokens) {
			t.Fatalf("batch of one prompt: seq %d %v, full batch %v", i, b.Seqs[i].Tokens, ref.Seqs[i].Tokens)
		}
	}
	// another seed differs
	b2, _ := e.Generate(testPrompts, s, 8)
	same := true
	for i := range b2.Seqs {
		same = same && fmt.Sprint(ref.Seqs[i].Tokens) == fmt.Sprint(b2.Seqs[i].Tokens)
	}
	if same {
		t.Fatalf("seeds 7 and 8 gave identical completions")
	}
}

func TestFinishReasons(t *testing.T) {
	m := testModel(t, smallConfig())
	e := New(m.W, 10)
	b, _ := e.Generate(testPrompts, Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 5, N: 8}, 1)
	for i, sq := range b.Seqs {
		n := len(sq.Tokens)
		switch sq.Finish {
		case FinishEOS:
			if sq.Tokens[n-1] != 10 {
				t.Errorf("seq %d finished by eos but ends with %d", i, sq.Tokens[n-1])
			}
		case FinishLength:
			limit := min(5, 12-len(b.Prompts[sq.Prompt]))
			if n != limit {
				t.Errorf("seq %d finished by length with %d tokens, limit %d", i, n, limit)
			}
		}
		for j, x := range sq.Tokens[:n-1] {
			if x == 10 {
				t.Errorf("seq %d has eos at %d before its end", i, j)
			}
		}
	}
}

func TestSamplerTruncation(t *testing.T) {
	z := []float32{3, 2, 1, 0, -1}
	sm := newSampler(5)
	count := map[int]int{}
	for i := 0; i < 1000; i++ {
		tok, _ := sm.draw(z, 1, &Sampling{TopK: 2, TopP: 1}, float64(i)/1000)
		count[tok]++
	}
	if len(count) != 2 || count[0] == 0 || count[1] == 0 {
		t.Fatalf("top_k=2 drew %v", count)
	}
	// top-p: p = softmax(z) ≈ [.636 .234 .086 .032 .012]; p=0.8 keeps 2
	clear(count)
	for i := 0; i < 1000; i++ {
		tok, lp := sm.draw(z, 1, &Sampling{TopP: 0.8}, float64(i)/1000)
		count[tok]++
		if tok == 0 && math.Abs(lp-math.Log(0.636/(0.636+0.234))) > 1e-2 {
			t.Fatalf("top-p log-prob %v", lp)
		}
	}
	if len(count) != 2 {
		t.Fatalf("top_p=0.8 drew %v", count)
	}
	// min-p 0.1: keeps p >= 0.0636: tokens 0, 1, 2
	clear(count)
	for i := 0; i < 1000; i++ {
		tok, _ := sm.draw(z, 1, &Sampling{TopP: 1, MinP: 0.1}, float64(i)/1000)
		count[tok]++
	}
	if len(count) != 3 {
		t.Fatalf("min_p=0.1 drew %v", count)
	}
	if tok, lp := sm.draw(z, 0, &Sampling{TopP: 1}, 0.5); tok != 0 || lp != 0 {
		t.Fatalf("greedy drew %d (%v)", tok, lp)
	}
}

func TestPassAtK(t *testing.T) {
	for _, tc := range []struct {
		n, c, k int
		want    float64
	}{
		{10, 0, 1, 0}, {10, 10, 5, 1}, {10, 3, 1, 0.3}, {5, 1, 5, 1},
		{4, 2, 2, 1 - 1.0/6}, // 1 - C(2,2)/C(4,2)
	} {
		got, err := PassAtK(tc.n, tc.c, tc.k)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("PassAtK(%d,%d,%d) = %v, %v; want %v", tc.n, tc.c, tc.k, got, err, tc.want)
		}
	}
	if _, err := PassAtK(3, 1, 4); err == nil {
		t.Error("PassAtK(3,1,4) accepted k > n")
	}
}
