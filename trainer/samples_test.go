package trainer

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestSamplesPerToken checks that samples.jsonl holds, for each logged
// completion, one token, log-prob, entropy and advantage per completion
// token, consistent with the completion and the sequence-level fields.
func TestSamplesPerToken(t *testing.T) {
	c := testConfig(t)
	c.Log.SampleEvery, c.Log.Samples = 2, 3
	dir := t.TempDir()
	r, err := Open(c, dir, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Trainer.Observe(MetricsWriter{Dir: dir})
	if err := r.Trainer.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s SampleDump
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		n++
		k := len(s.Tokens)
		if k == 0 || len(s.Logp) != k || len(s.Entropy) != k || len(s.TokenAdv) != k {
			t.Fatalf("step %d: %d tokens, %d logp, %d entropy, %d advantages", s.Step, k, len(s.Logp), len(s.Entropy), len(s.TokenAdv))
		}
		text := ""
		for i, tok := range s.Tokens {
			if tok == "<eos>" {
				if i != k-1 || s.Finish != "eos" {
					t.Errorf("step %d: <eos> at %d of %d, finish %s", s.Step, i, k, s.Finish)
				}
				break
			}
			text += tok
		}
		if text != s.Completion {
			t.Errorf("step %d: tokens %q join to %q, completion %q", s.Step, s.Tokens, text, s.Completion)
		}
		for i := range k {
			if !(s.Logp[i] <= 0) || !(s.Entropy[i] >= 0) || math.IsNaN(float64(s.TokenAdv[i])) {
				t.Errorf("step %d token %d: logp %v entropy %v advantage %v", s.Step, i, s.Logp[i], s.Entropy[i], s.TokenAdv[i])
			}
		}
		if float64(s.TokenAdv[0]) != float64(float32(s.Advantage)) {
			t.Errorf("step %d: token advantage %v, sequence advantage %v", s.Step, s.TokenAdv[0], s.Advantage)
		}
		if s.Correct != (s.Reward >= 1) {
			t.Errorf("step %d: correct %v with reward %v", s.Step, s.Correct, s.Reward)
		}
	}
	if want := c.Train.Steps / c.Log.SampleEvery * c.Log.Samples; n != want {
		t.Errorf("%d sample lines, want %d", n, want)
	}
}
