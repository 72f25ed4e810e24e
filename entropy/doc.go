// Package entropy measures the entropy of a policy's next-token
// distributions and implements the entropy-control methods of
// shared/algorithms/ENTROPY.md, plus HAPO's adaptive sampling temperature
// (shared/algorithms/ADVANTAGE_AND_CLIPPING.md §10.1–10.2).
//
// Everything here is plain float64 work with hand-written gradients, so the
// tests need no graph. The package knows nothing of reward, advantage, clip or
// the trainer; the trainer imports it.
//
// Shape letters: B sequences (responses), T response positions (rows may be
// ragged; a row's length is its token count), V vocabulary (LM-head width).
// Per-token data is [][]float64 indexed [b][t]; distributions are raw logits
// [][][]float64 indexed [b][t][v]. Masks are 0/1 float64 [b][t]. Every
// gradient is with respect to the RAW logits z, even where the distribution is
// tempered (u = z/τ).
//
// What it offers, by consumer:
//
//   - Token entropy: [TokenEntropy], [TokenEntropyGrad], [Entropies],
//     [LogProbs], [BackpropLogp], [SampledNLL].
//   - Regularizers (one family, registry in registry.go): "none", "bonus"
//     (verl entropy bonus), "adaptive_bonus" (TRL / Skywork-OR1 bonus whose
//     coefficient a [CoefController] drives), "aent" (AEnt clamped entropy),
//     "em" (EM-FT entropy minimisation). They share [Input] and return an
//     [Output] holding the loss, its gradient w.r.t. logits and metrics.
//   - Policy losses acting on per-token log-probs, shaped like the clip
//     family ([PolicyInput], dst [b][t] = ∂loss/∂logp): "steer" (STEER token
//     reweighting in verl dual-clip PPO) and "aepo" (EasyR1 dual-clip PPO as
//     the AEPO code runs it).
//   - Token masks and weights: [HighEntropyMask] (TRL 80/20),
//     [SteerEstimate] and [SteerWeights].
//   - Controllers, updated once per optimizer step, each with State() and
//     SetState() and, for checkpoints, SaveState()/LoadState() (JSON): [AdaptiveCoef] (TRL), [AEntCoef] (AEnt),
//     [AEPO] (temperature switch and sample count), and the HAPO sampler
//     temperature [AdaptiveTemperature] built from [ComputeEntropyH].
//   - Rewards: [EMRLRewards] (EM-RL).
//   - Diagnostics: [PredictedChange], [MeasureMechanism], [BatchProxy]
//     (first-order entropy change, §5 of the spec).
//
// Metric keys are family/quantity: entropy/token_mean, entropy/agg,
// entropy/effective_token_mean, entropy/effective_tokens, entropy/valid_tokens,
// entropy/coef, entropy/loss, entropy/high_mask_frac,
// entropy/clamped_token_mean, entropy/high_mask_frac, the mechanism's
// entropy/predicted_delta, entropy/actual_delta, entropy/delta_corr, and the
// STEER loss's steer/weight_mean, steer/weight_min, steer/omega_max (package
// metric holds every recorded name). STEER and AEPO's actor loss implement
// the one policy-loss interface, pg.Loss, and report the clip family's
// statistics (pg_loss, pg_clipfrac, pg_clipfrac_lower, ppo_kl, verl's masked
// means); aggregation and selection come from package masked.
//
// A NaN or Inf in any loss, gradient or entropy returned here means the
// inputs were not finite (or τ was out of range); the trainer turns it into
// its NonFiniteError.
package entropy
