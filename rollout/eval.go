package rollout

import (
	"context"
	"fmt"
	"math"

	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/tokens"
)

// EvalResult summarises a policy on a set of problems.
type EvalResult struct {
	Problems int     `json:"problems"`
	Accuracy float64 `json:"accuracy"`    // greedy decoding, fraction correct
	K        int     `json:"k"`           // samples per problem for the two below (0: not run)
	MeanAtK  float64 `json:"mean_at_k"`   // mean correctness of the k samples
	PassAtK  float64 `json:"pass_at_k"`   // unbiased pass@k (Chen et al., 2021), n = k
	PassAt1  float64 `json:"pass_at_1"`   // unbiased pass@1 from the same samples
	Reward   float64 `json:"mean_reward"` // mean reward of the greedy answers
	// Curve is the unbiased pass@k at k = 1, 2, 4, … K (PassAtKKs) from the
	// same K samples per problem; empty when K is 0.
	Curve []PassPoint `json:"pass_at_k_curve,omitempty"`
}

// PassPoint is one point of a pass@k curve.
type PassPoint struct {
	K    int     `json:"k"`
	Pass float64 `json:"pass"`
}

// PassAtK is the unbiased estimator of Chen et al. (2021), "Evaluating Large
// Language Models Trained on Code": with n samples of which c are correct,
//
//	pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)
//
// computed in the product form for stability. k > n is an error.
func PassAtK(n, c, k int) (float64, error) {
	if k < 1 || n < k || c < 0 || c > n {
		return 0, fmt.Errorf("rollout: pass@k needs 1 <= k <= n and 0 <= c <= n, got n=%d c=%d k=%d", n, c, k)
	}
	if n-c < k {
		return 1, nil
	}
	p := 1.0
	for i := n - c + 1; i <= n; i++ {
		p *= 1 - float64(k)/float64(i)
	}
	return 1 - p, nil
}

// Evaluate scores the engine's policy on problems: greedy accuracy always,
// and with k > 0 also mean@k and pass@k from k samples per problem drawn with
// s (its N is replaced by k).
func Evaluate(e *Engine, tok *tokens.Tokenizer, task reward.Task, problems []reward.Problem, maxNew int, k int, s Sampling, seed uint64) (EvalResult, error) {
	return EvaluateProgress(e, tok, task, problems, maxNew, k, s, seed, nil)
}

// EvaluateProgress is Evaluate calling progress(done, total) as problems
// are finished (greedy pass, then sampling pass).
func EvaluateProgress(e *Engine, tok *tokens.Tokenizer, task reward.Task, problems []reward.Problem, maxNew int, k int, s Sampling, seed uint64, progress func(done, total int)) (EvalResult, error) {
	return EvaluateContext(context.Background(), e, tok, task, problems, maxNew, k, s, seed, progress)
}

// EvaluateContext is EvaluateProgress stopping with ctx's error (between
// chunks of EvalChunk problems) once ctx is cancelled. A nil ctx never stops.
func EvaluateContext(ctx context.Context, e *Engine, tok *tokens.Tokenizer, task reward.Task, problems []reward.Problem, maxNew int, k int, s Sampling, seed uint64, progress func(done, total int)) (EvalResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	res := EvalResult{Problems: len(problems), K: k}
	if len(problems) == 0 {
		return res, fmt.Errorf("rollout: no problems to evaluate")
	}
	prompts := make([][]int32, len(problems))
	for i, p := range problems {
		ids, err := tok.EncodePrompt(p.Prompt)
		if err != nil {
			return res, fmt.Errorf("rollout: problem %d: %w", i, err)
		}
		prompts[i] = ids
	}
	total := len(problems)
	if k > 0 {
		total *= 2
	}
	greedy := Sampling{Temperature: 0, TopP: 1, MaxNewTokens: maxNew, N: 1}
	chunk := EvalChunk(1)
	for lo := 0; lo < len(prompts); lo += chunk {
		hi := min(lo+chunk, len(prompts))
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b, err := e.Generate(prompts[lo:hi], greedy, seed)
		if err != nil {
			return res, err
		}
		scores, err := scoreSeqs(task, tok, b.Seqs, problems[lo:hi])
		if err != nil {
			return res, err
		}
		for _, sc := range scores {
			if sc.Correct {
				res.Accuracy++
			}
			res.Reward += sc.Reward
		}
		if progress != nil {
			progress(hi, total)
		}
	}
	res.Accuracy /= float64(len(problems))
	res.Reward /= float64(len(problems))
	if k < 1 {
		return res, nil
	}
	s.N, s.MaxNewTokens = k, maxNew
	var mean, pass, pass1 float64
	counts := make([]int, len(problems))
	chunk = EvalChunk(k)
	for lo := 0; lo < len(prompts); lo += chunk {
		hi := min(lo+chunk, len(prompts))
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// sequence streams are indexed within the call, so offset the seed
		// per chunk to keep chunks independent
		b, err := e.Generate(prompts[lo:hi], s, seed+1+uint64(lo))
		if err != nil {
			return res, err
		}
		scores, err := scoreSeqs(task, tok, b.Seqs, problems[lo:hi])
		if err != nil {
			return res, err
		}
		for p := lo; p < hi; p++ {
			c := 0
			for _, sc := range scores[(p-lo)*k : (p-lo+1)*k] {
				if sc.Correct {
					c++
				}
			}
			counts[p] = c
			mean += float64(c) / float64(k)
			pk, _ := PassAtK(k, c, k)
			p1, _ := PassAtK(k, c, 1)
			pass += pk
			pass1 += p1
		}
		if progress != nil {
			progress(len(problems)+hi, total)
		}
	}
	n := float64(len(problems))
	res.MeanAtK, res.PassAtK, res.PassAt1 = mean/n, pass/n, pass1/n
	if math.IsNaN(res.PassAtK) {
		return res, fmt.Errorf("rollout: pass@k is NaN")
	}
	ks := PassAtKKs(k)
	curve, err := PassAtKCurve(k, counts, ks)
	if err != nil {
		return res, err
	}
	for i, kk := range ks {
		res.Curve = append(res.Curve, PassPoint{K: kk, Pass: curve[i]})
	}
	return res, nil
}

// EvalChunk is how many problems an evaluation with k samples per problem
// generates at once: 64, fewer when k > 64 so that a chunk holds at most
// 4096 sequences (k = 256: 16 problems, about 1 GiB of KV cache for the S
// policy instead of 4).
func EvalChunk(k int) int {
	const problems, seqs = 64, 4096
	return max(1, min(problems, seqs/max(k, 1)))
}

// scoreSeqs scores seqs against their problems in one batch
// (reward.ScoreAll: one request for a reward command).
func scoreSeqs(task reward.Task, tok *tokens.Tokenizer, seqs []Sequence, problems []reward.Problem) ([]reward.Score, error) {
	ps, texts := make([]reward.Problem, len(seqs)), make([]string, len(seqs))
	for i, sq := range seqs {
		ps[i], texts[i] = problems[sq.Prompt], tok.DecodeCompletion(sq.Tokens)
	}
	scores := make([]reward.Score, len(seqs))
	if err := reward.ScoreAll(scores, task, ps, texts); err != nil {
		return nil, fmt.Errorf("rollout: eval: %w", err)
	}
	return scores, nil
}
