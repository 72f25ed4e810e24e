// Package rollout samples completions from the live policy: prompts in,
// groups of completions out, with per-token log-probs and entropies.
//
// Fed by: *policy.Weights (read in place: the trainer's AdamW updates are
// seen by the next Generate call with no copy) and token-id prompts.
// Consumed by: the trainer (old log-probs, entropies, finish reasons) and
// evaluation (greedy accuracy, pass@k).
//
// The decoder is plain Go over the shared kernels (internal/kern) with a KV
// cache: each decode step runs one batched GEMM per linear layer over the
// active sequences and a per-head attention over each sequence's cache.
// Sequences are split over one worker per core; every sequence draws from its
// own random stream (seed, sequence index), so completions do not depend on
// batch size or worker count. All sequences advance in lockstep: a sequence
// still inside its prompt is fed its next prompt token, so prompts of
// different lengths need no padding.
//
// Shape letters: S sequences, D model width, H heads, V vocabulary.
package rollout
