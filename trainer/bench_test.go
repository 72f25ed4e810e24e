package trainer

import (
	"math/rand/v2"
	"testing"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/clip"
	"github.com/entrolab/entrolab/internal/benchmeter"
	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/rollout"
)

// BenchmarkGRPOStep is the peer of ../shared/bench/gpt_torch.py --mode grpo
// on config S: 8 prompts × 8 completions, 16-token random prompts, 64 new
// tokens (no <eos>), a toy reward (share of 7s), GRPO advantages, one PPO
// update (forward + backward + AdamW) on the 64 × 80 sequences, with the
// sampler's log-probs as old log-probs. It uses the same parts as
// Trainer.StepOnce (rollout, advantage, clip, policy) without the task.
func BenchmarkGRPOStep(b *testing.B) {
	cfg := policy.ConfigS()
	cfg.MaxSeqLen = 128
	benchGRPO(b, cfg, 8, 8)
}

// BenchmarkGPT2Small is the GRPO step on the GPT-2-small shape
// (policy.ConfigGPT2Small) with 4 prompts × 4 completions of 64 new tokens
// (peer: bench/gpt_torch.py --config G2 --mode grpo, which uses the same 4 × 4).
func BenchmarkGPT2Small(b *testing.B) {
	benchGRPO(b, policy.ConfigGPT2Small(), 4, 4)
}

func benchGRPO(b *testing.B, cfg policy.Config, np, g int) {
	m, err := policy.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	opt := policy.NewAdamW(policy.DefaultOptimConfig(), m.W)
	eng := rollout.New(m.W, -1)
	r := rand.New(rand.NewPCG(1, 1))
	const plen, gen = 16, 64
	prompts := make([][]int32, np)
	for i := range prompts {
		prompts[i] = make([]int32, plen)
		for j := range prompts[i] {
			prompts[i][j] = int32(r.IntN(cfg.Vocab))
		}
	}
	est, _ := advantage.New(advantage.DefaultConfig())
	loss, _ := clip.New(clip.DefaultConfig())
	s := rollout.Sampling{Temperature: 1, TopP: 1, MaxNewTokens: gen, N: g}
	var out rollout.Batch
	bt := policy.NewBatch(np*g, plen+gen-1)
	in := advantage.Input{Rewards: make([]float64, np*g), Group: make([]int, np*g), Mask: make([][]float64, np*g)}
	adv := make([][]float64, np*g)
	old := make([][]float64, np*g)
	logp := make([][]float64, np*g)
	grad := make([][]float64, np*g)
	for i := range in.Mask {
		in.Mask[i] = make([]float64, gen)
		for j := range in.Mask[i] {
			in.Mask[i][j] = 1
		}
		adv[i] = make([]float64, gen)
		grad[i] = make([]float64, gen)
		in.Group[i] = i / g
	}
	seq := make([]int32, plen+gen)
	obj := func(h *policy.HeadInput, gr *policy.HeadGrad) (float64, map[string]float64, error) {
		for b := range logp {
			o := b*h.T + plen - 1
			logp[b] = h.Logp[o : o+gen]
		}
		res, err := loss.Compute(grad, clip.Input{Logp: logp, OldLogp: old, Adv: adv, Mask: in.Mask})
		if err != nil {
			return 0, nil, err
		}
		for b := range logp {
			o := b*h.T + plen - 1
			copy(gr.Logp[o:o+gen], res.Grad[b])
		}
		return res.Loss, nil, nil
	}
	step := func(seed uint64) {
		if err := eng.GenerateInto(&out, prompts, s, seed); err != nil {
			b.Fatal(err)
		}
		for i, sq := range out.Seqs {
			sevens := 0.0
			for _, t := range sq.Tokens {
				if t == 7 {
					sevens++
				}
			}
			in.Rewards[i] = sevens / gen
			old[i] = sq.Logp
			copy(seq, prompts[sq.Prompt])
			copy(seq[plen:], sq.Tokens)
			bt.SetRow(i, seq, plen, 0)
		}
		if err := est.Estimate(adv, in); err != nil {
			b.Fatal(err)
		}
		if _, _, err := m.Accumulate(bt, 1, obj); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Step(opt); err != nil {
			b.Fatal(err)
		}
	}
	step(0) // build the graph and buffers, untimed
	b.ResetTimer()
	seed := uint64(1)
	var steps benchmeter.Steps
	for b.Loop() {
		steps.Time(func() { step(seed) })
		seed++
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
	b.ReportMetric(float64(b.N*np*g*gen)/b.Elapsed().Seconds(), "gen_tokens/s")
	steps.Report(b, 0, "")
}
