package trainer

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/rollout"
)

// MemoryEstimate is a rough upper estimate, in bytes, of what one RL step
// of cfg holds at once with model m: the sampled batch's KV cache and
// logits, one micro-batch's graph, the evaluation chunk, and the weights
// with their optimizer moments (and the frozen reference copy).
func MemoryEstimate(cfg Config, m policy.Config) (total float64, parts map[string]float64) {
	const f32 = 4
	seq := float64(m.MaxSeqLen)
	V, D, L := float64(m.Vocab), float64(m.DModel), float64(m.NLayers)
	n := float64(cfg.Train.PromptsPerStep * cfg.Sampling.N)
	n *= cfg.Algorithm.BatchFactor() // parts that sample more than the regular batch
	micro := n / float64(max(cfg.Train.MiniBatches, 1))
	if cfg.Train.MicroBatch > 0 {
		micro = float64(cfg.Train.MicroBatch)
	}
	parts = map[string]float64{
		// per sequence: its tokens' logits (float32) and log-probs/entropies (float64)
		"sampled batch (train.prompts_per_step × sampling.group_size)": n * seq * (V*f32 + 6*8 + 2*L*D*f32),
		// activations of the layers kept for the backward pass
		"micro-batch graph (train.micro_batch or the mini-batch)": micro * seq * (3*V + 16*L*D) * f32,
		// the evaluation generates rollout.EvalChunk(k) problems × k completions at a time
		"evaluation chunk (eval.k, eval.final_k)": evalChunkSeqs(max(cfg.Eval.K, cfg.Eval.FinalK)) * seq * (V + 2*L*D) * f32,
		"weights, optimizer moments, reference":   5 * float64(m.NumParams()) * f32,
	}
	for _, v := range parts {
		total += v
	}
	return total, parts
}

// evalChunkSeqs is the most sequences one evaluation chunk generates with k
// samples per problem (the greedy pass: one per problem).
func evalChunkSeqs(k int) float64 {
	k = max(k, 1)
	return float64(max(rollout.EvalChunk(k)*k, rollout.EvalChunk(1)))
}

// availableMemory reads MemAvailable from /proc/meminfo (0: unknown).
func availableMemory() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

// checkMemory refuses a config whose estimated step memory exceeds what the
// machine has available, naming the largest part, its keys and the estimate.
func checkMemory(cfg Config, m policy.Config) error {
	avail := availableMemory()
	if avail == 0 {
		return nil
	}
	total, parts := MemoryEstimate(cfg, m)
	if total <= avail {
		return nil
	}
	big, bv := "", 0.0
	for k, v := range parts {
		if v > bv {
			big, bv = k, v
		}
	}
	return fmt.Errorf("trainer: a step would need about %.1f GiB (of which %s: %.1f GiB) but the machine has %.1f GiB available; lower the sizes", total/(1<<30), big, bv/(1<<30), avail/(1<<30))
}
