package rollout_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/rollout"
	"github.com/entrolab/entrolab/tokens"
)

// The curve's ends are the pass@1 and pass@K the evaluation reports, it never
// falls with k, and 256 samples per problem on the held-out split of the
// committed S-sized base take well under a minute.
func TestEvaluateCurve(t *testing.T) {
	ck := policytest.Base(t)
	tok, err := tokens.Parse(ck.Files["tokenizer.json"])
	if err != nil {
		t.Fatal(err)
	}
	tc := reward.DefaultConfig()
	tc.Name = "addition"
	task, err := reward.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	k, n := 256, 32
	if testing.Short() {
		k, n = 64, 8
	}
	r := rand.New(rand.NewPCG(1, 2))
	problems := make([]reward.Problem, n)
	for i := range problems {
		problems[i] = task.Generate(r, reward.HeldOut)
	}
	eng := rollout.New(ck.Weights, int32(tok.EOSID()))
	s := rollout.Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 12, N: k}
	t0 := time.Now()
	res, err := rollout.Evaluate(eng, tok, task, problems, 12, k, s, 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d problems x %d samples in %v: greedy %.3f pass@1 %.3f pass@%d %.3f", n, k, time.Since(t0), res.Accuracy, res.PassAt1, k, res.PassAtK)
	c := res.Curve
	if len(c) != len(rollout.PassAtKKs(k)) || c[0].K != 1 || c[len(c)-1].K != k {
		t.Fatalf("curve ks %v", c)
	}
	if math.Abs(c[0].Pass-res.PassAt1) > 1e-12 || math.Abs(c[len(c)-1].Pass-res.PassAtK) > 1e-12 {
		t.Fatalf("curve ends %v / %v, want pass@1 %v and pass@%d %v", c[0], c[len(c)-1], res.PassAt1, k, res.PassAtK)
	}
	for i := 1; i < len(c); i++ {
		if c[i].Pass < c[i-1].Pass {
			t.Fatalf("pass@k falls with k: %v", c)
		}
	}
}
