// Package advantage turns rewards into per-token advantages.
//
// Fed by: the reward functions (one outcome reward per response, and
// per-token rewards where an estimator needs them), the rollout's group
// (prompt) ids and the response mask. Consumed by: the trainer, which hands
// the advantages to a clip scheme (package clip) as the constant A of the
// surrogate loss. No gradient flows through an advantage, so everything here
// is plain float64 work.
//
// Every estimator implements [Estimator] and reads the same [Input]; the
// optional fields it reads are reported by Needs, so the trainer checks them
// once when it is built. Estimators are built by name through [New] from a
// [Config]; see [Names] for the registered ones:
//
//	grpo                   group-normalised outcome advantage (verl)
//	dr_grpo                grpo without the std division (Dr. GRPO)
//	rloo                   leave-one-out baseline (verl)
//	reinforce_pp           REINFORCE++: batch-whitened discounted returns
//	reinforce_pp_baseline  REINFORCE++-baseline: group mean, then batch whitening
//	aapo                   AAPO: GRPO plus a clipped margin over the reference policy's reward
//	hapo                   HAPO token-level group average with the GRPO fallback
//
// The formulas, defaults and upstream sources are in
// shared/algorithms/ADVANTAGE_AND_CLIPPING.md, sections 3, 9 and 10.3; the
// tests check every case of the golden vectors in testdata/golden (copied
// unchanged from shared/algorithms/golden, produced by refimpl/adv_clip_ref.py)
// within |got-want| <= 1e-9 + 1e-7|want|.
//
// Shape letters: B responses (samples), T token positions. Per-token data is
// [B][T], ragged rows allowed: a row's length is that response's width, and
// Mask[b][t] (0 or 1) marks the valid tokens. Outputs are 0 on masked tokens.
//
// Estimators keep scratch buffers between calls so a step allocates nothing;
// one estimator value is therefore not safe for concurrent use.
package advantage
