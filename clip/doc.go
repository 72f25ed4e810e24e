// Package clip turns per-token log-probabilities and advantages into a
// policy-gradient loss to minimise, its gradient with respect to the current
// log-probabilities, and the clipping statistics a run dashboard shows.
//
// What feeds it: the rollout's behaviour log-probs (OldLogp), the current
// forward pass's log-probs (Logp, the differentiable input), the advantage
// package's per-token advantages (Adv) and the response mask, all [B][T]
// (B responses, T token positions; rows may be ragged, a row's length being
// that response's token count). HAPO also reads the current policy's
// per-token entropy [B][T]; Clip-Cov reads uniform draws or a *rand.Rand.
//
// What consumes it: the trainer, which feeds Result.Grad (dLoss/dLogp, [B][T])
// back into the policy graph and records Result.Metrics.
//
// Members (registry names, see Names):
//
//	ppo              PPO clipped surrogate with optional dual clip and
//	                 asymmetric bounds (verl compute_policy_loss_vanilla)
//	ppo_clip_higher  the same loss with DAPO's defaults (0.2 / 0.28, c = 10)
//	clip_cov         Clip-Cov, arXiv 2505.22617
//	kl_cov           KL-Cov, arXiv 2505.22617
//	cegppo           CE-GPPO general-β, arXiv 2509.20712 (GPPO when β1 = β2 = 1)
//	hapo             HAPO adaptive clipping + advantage redistribution,
//	                 arXiv 2509.16591
//	gspo             GSPO, one clipped ratio per sequence, arXiv 2507.18071
//	cispo            CISPO, clipped detached IS weight (MiniMax-M1), arXiv 2506.13585
//	sapo             SAPO, a soft sigmoid gate instead of the clip, arXiv 2511.20347
//	entropy_adv      entropy-shaped advantages, then PPO, arXiv 2506.14758
//
// Loss, Input and Result are package pg's, the one policy-loss interface
// (entropy's STEER and AEPO losses implement it too). The per-token losses
// share one loop (begin, sumTokens, ratioMetrics in clip.go).
//
// Every member reduces its per-token loss with the shared aggregation,
// masked.Agg (config key loss_agg_mode). kl.go adds the KL estimators
// k1, abs, k2, k3 and their "+" straight-through variants, both as a loss
// (KLLoss, reading Input.RefLogp) and as a reward-penalty helper
// (KLEstimator.RewardPenalty); they have their own small registry (KLNames).
//
// Metric keys follow the spec's (verl's) names so dashboards line up with
// upstream runs: pg_loss, pg_clipfrac, pg_clipfrac_lower, ppo_kl, plus the
// method-specific keys listed on each type. Per-token diagnostics (the
// per-token loss, ratio, region codes, Clip-Cov/KL-Cov selections, HAPO's
// normalised entropy and bounds) are written into Input.Trace when it is set.
//
// Spec: shared/algorithms/ADVANTAGE_AND_CLIPPING.md §1, §2, §4–8, §10.4–10.6, §11–14;
// golden vectors in testdata/golden (copied from shared/algorithms/golden,
// produced by refimpl/adv_clip_ref.py, see each file's "generator" field).
//
// A Loss keeps scratch buffers between calls, so one value must not be used
// from two goroutines at once; build one per goroutine.
package clip
