// Package experiment is one experiment's settings: the sections that each
// package keeps beside its code, composed into one Config, plus the
// training loop's own sections and the checks across sections.
//
//	task        reward.Config         (package reward)
//	reward      reward.CommandConfig  (package reward)
//	sampling    rollout.Sampling      (package rollout: bounds, defaults)
//	algorithm   method.Config         (package method, its parts' sections)
//	optim       policy.OptimConfig    (package policy)
//	base.sft    sft.Config            (package sft)
//	train, log, eval, checkpoint, base.checkpoint, name, seed, out: the
//	            training loop's (this package)
//
// Every section validates itself and names its full dotted key; Validate
// adds the limits and the relations between sections (mini-batches that
// divide a step's sequences, sequences per step).
//
// The composed Config lives here, not in trainer or configs, so that the
// loader (configs: YAML, environment, --set, provenance, strict keys) and
// the runner (trainer) both use it without either importing the other.
package experiment
