// Package sft makes a base policy for a toy task by supervised fine-tuning
// on generated (prompt, answer) pairs, stopping once greedy accuracy on the
// held-out split enters a band (default 30–60%), so that RL has headroom.
//
// Fed by: a reward.Task (problems and the verifier), the tokenizer, a
// policy.Config and optimizer settings. Produces: a checkpoint directory
// (policy.Checkpoint with tokenizer.json and sft.json) that the trainer and
// `entrolab eval` load.
package sft
