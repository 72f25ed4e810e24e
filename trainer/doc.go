// Package trainer composes the parts into one RL step: sample groups of
// completions (rollout) → score (reward) → advantages (advantage) → for
// ppo_epochs × mini-batches: policy loss (clip, or STEER/AEPO from entropy) +
// entropy regularizer (entropy) + optional KL loss → one forward and one
// backward through the policy → clip → AdamW → controllers → record.
//
// Fed by: a Config (see configs for loading), a base checkpoint (made by sft
// when missing). Produces: a run directory with metrics.jsonl (verl's
// file-logger format), samples.jsonl, config.yaml (the resolved config) and
// checkpoints/ (exact resume). Logging, metrics, checkpoints and evaluation
// attach as Observers.
//
// Shape letters: B sequences in a mini-batch, T completion tokens, V
// vocabulary.
package trainer
