// Package metric owns the names of the metrics a run records: one table
// with each key's meaning and unit. metrics.jsonl, the step log, the plots'
// axis labels and the README's metric list use these names; tests check
// that every key a step writes, every key the plots read and every key the
// README lists is in the table.
//
// Keys are family/quantity in snake_case (verl's names where verl has
// one). A policy loss's own metrics are recorded under actor/ (the loss's
// "pg_clipfrac" becomes actor/pg_clipfrac); a regularizer's keep their
// entropy/ family.
package metric

import (
	"sort"
	"strings"
)

// The keys the trainer and the plots name in code.
const (
	Entropy        = "actor/entropy"
	SampledNLL     = "actor/sampled_nll"
	PGLoss         = "actor/pg_loss"
	PGLossTotal    = "actor/pg_loss_total"
	PGClipfrac     = "actor/pg_clipfrac"
	PGClipfracLow  = "actor/pg_clipfrac_lower"
	PPOKL          = "actor/ppo_kl"
	KLLoss         = "actor/kl_loss"
	EntropyLoss    = "actor/entropy_loss"
	GradNorm       = "actor/grad_norm"
	LR             = "actor/lr"
	RewardKL       = "actor/reward_kl_penalty"
	RewardKLCoef   = "actor/reward_kl_penalty_coeff"
	Score          = "critic/score"      // /mean, /max, /min
	ScoreMean      = "critic/score/mean" // the task reward
	Accuracy       = "critic/accuracy"
	Rewards        = "critic/rewards"    // /mean, /max, /min
	Advantages     = "critic/advantages" // /mean, /max, /min
	RefScoreMean   = "critic/ref_score_mean"
	FracZeroStd    = "frac_reward_zero_std"
	RespLen        = "response_length" // /mean, /max, /min
	RespLenMean    = "response_length/mean"
	RespLenMin     = "response_length/min"
	RespLenMax     = "response_length/max"
	RespClipRatio  = "response_length/clip_ratio"
	LogpMismatch   = "rollout/logp_mismatch_max"
	PredictedDelta = "entropy/predicted_delta"
	ActualDelta    = "entropy/actual_delta"
	DeltaCorr      = "entropy/delta_corr"
	HighMaskThr    = "entropy/high_mask_threshold"
	HighMaskKept   = "entropy/high_mask_kept"
	EntropyCoef    = "controller/entropy_coef"
	HAPOPivot      = "controller/hapo_entropy_pivot"
	AEPOTemp       = "controller/aepo_temperature"
	AEPOSampleNum  = "controller/aepo_sample_num"
	ValAccuracy    = "val/accuracy"
	ValReward      = "val/reward"
	ValPassAt      = "val/pass@" // + k
	ValMeanAt      = "val/mean@" // + k
	StepTime       = "timing_s/step"
	Throughput     = "perf/throughput"
	Timing         = "timing_s/" // + phase
	Controller     = "controller/"
)

// Def is one metric: its key (a prefix when Prefix), unit and meaning, and
// for the metrics figures draw, the axis label in words with the unit.
type Def struct {
	Key     string
	Unit    string
	Meaning string
	Prefix  bool   // Key is a prefix: Key + a suffix (val/pass@8, timing_s/gen)
	Axis    string // a figure's axis label: "entropy (nats / token)"; "" for metrics no figure draws
}

// Table lists every metric a run records.
var Table = []Def{
	{Key: Entropy, Unit: "nats", Meaning: "token-mean entropy of the policy on its own samples, at the training temperature", Axis: "entropy (nats / token)"},
	{Key: SampledNLL, Unit: "nats", Meaning: "token-mean negative log-prob of the sampled tokens (AEPO's entropy estimate)"},
	{Key: PGLoss, Unit: "loss", Meaning: "the policy loss (aggregated per-token surrogate)"},
	{Key: PGLossTotal, Unit: "loss", Meaning: "the policy loss plus every added term (KL, entropy)"},
	{Key: PGClipfrac, Unit: "fraction", Meaning: "tokens whose ratio was clipped (A>0 above 1+ε_h, A<0 below 1−ε_l)", Axis: "clipped tokens (fraction)"},
	{Key: PGClipfracLow, Unit: "fraction", Meaning: "tokens cut by the dual clip (A<0, ratio above c)", Axis: "dual-clipped tokens (fraction)"},
	{Key: PPOKL, Unit: "nats", Meaning: "mean −Δ = old − new log-prob of the sampled tokens"},
	{Key: "actor/ppo_kl_abs", Unit: "nats", Meaning: "KL-Cov: mean |Δ|"},
	{Key: KLLoss, Unit: "nats", Meaning: "KL estimate to the frozen base policy, before its coefficient"},
	{Key: "actor/kl_coef", Unit: "coefficient", Meaning: "KL loss coefficient β"},
	{Key: EntropyLoss, Unit: "loss", Meaning: "the entropy regularizer's term in the loss"},
	{Key: GradNorm, Unit: "norm", Meaning: "gradient norm before clipping, mean over optimizer steps"},
	{Key: LR, Unit: "rate", Meaning: "learning rate of the last optimizer step"},
	{Key: RewardKL, Unit: "nats/token", Meaning: "KL-in-reward: mean per-token KL estimate to the base"},
	{Key: RewardKLCoef, Unit: "coefficient", Meaning: "KL-in-reward coefficient β"},
	{Key: "actor/n_valid", Unit: "tokens", Meaning: "Clip-Cov / KL-Cov: valid tokens seen by the loss"},
	{Key: "actor/n_candidates", Unit: "tokens", Meaning: "Clip-Cov: tokens eligible for detaching"},
	{Key: "actor/n_selected", Unit: "tokens", Meaning: "Clip-Cov: detached tokens; KL-Cov: penalised tokens"},
	{Key: "actor/clip_num", Unit: "tokens", Meaning: "Clip-Cov: detach budget k, summed over scopes"},
	{Key: "actor/k", Unit: "tokens", Meaning: "KL-Cov: penalty budget k, summed over scopes"},
	{Key: "actor/adv_mean", Unit: "advantage", Meaning: "Clip-Cov: mean advantage used for the covariance"},
	{Key: "actor/logp_mean", Unit: "nats", Meaning: "Clip-Cov: mean log-prob used for the covariance"},
	{Key: "actor/hapo_hhat_mean", Unit: "normalised entropy", Meaning: "HAPO: mean ĥ"},
	{Key: "actor/hapo_adv_scaled_frac", Unit: "fraction", Meaning: "HAPO: tokens whose advantage DAR rescaled"},
	{Key: "actor/steer/weight_mean", Unit: "weight", Meaning: "STEER: mean token weight"},
	{Key: "actor/steer/weight_min", Unit: "weight", Meaning: "STEER: smallest token weight"},
	{Key: "actor/steer/omega_max", Unit: "estimate", Meaning: "STEER: largest entropy-change estimate Ω"},
	{Key: "actor/entropy_term_mean", Unit: "advantage", Meaning: "entropy_adv: mean shaping term ψ = min(α·H, |A|/κ)"},
	{Key: "actor/capped_frac", Unit: "fraction", Meaning: "entropy_adv: tokens whose ψ hit the cap |A|/κ"},
	{Key: Score, Prefix: true, Unit: "reward", Meaning: "verifier reward of the step's samples: /mean, /max, /min", Axis: "training reward (verifier score)"},
	{Key: Accuracy, Unit: "fraction", Meaning: "samples the verifier marked correct", Axis: "training accuracy (fraction)"},
	{Key: Rewards, Prefix: true, Unit: "reward", Meaning: "rewards the estimator saw (after EM-RL, KL-in-reward): /mean, /max, /min"},
	{Key: Advantages, Prefix: true, Unit: "advantage", Meaning: "per-token advantages: /mean, /max, /min"},
	{Key: RefScoreMean, Unit: "reward", Meaning: "mean reward of the frozen base policy's completions (estimators that read them)"},
	{Key: FracZeroStd, Unit: "fraction", Meaning: "prompt groups whose rewards are all equal (no signal)"},
	{Key: RespLen, Prefix: true, Unit: "tokens", Meaning: "completion length: /mean, /max, /min", Axis: "response length (tokens)"},
	{Key: RespClipRatio, Unit: "fraction", Meaning: "completions stopped by max_new_tokens"},
	{Key: LogpMismatch, Unit: "nats", Meaning: "largest |sampler − trainer| log-prob on the first update"},
	{Key: PredictedDelta, Unit: "nats", Meaning: "first-order predicted entropy change of the step (−Cov(log π, Δz/τ))", Axis: "predicted entropy change per step (nats / token)"},
	{Key: ActualDelta, Unit: "nats", Meaning: "measured entropy change of the step, same tokens", Axis: "entropy change per step (nats / token)"},
	{Key: DeltaCorr, Unit: "correlation", Meaning: "Pearson r of per-token predicted vs measured entropy change", Axis: "per-token r, predicted vs measured"},
	{Key: "entropy/token_mean", Unit: "nats", Meaning: "regularizer: token-mean entropy of the full distribution"},
	{Key: "entropy/agg", Unit: "nats", Meaning: "regularizer: the aggregated entropy its loss uses"},
	{Key: "entropy/effective_token_mean", Unit: "nats", Meaning: "bonus: token-mean entropy over the tokens it acts on"},
	{Key: "entropy/effective_tokens", Unit: "tokens", Meaning: "bonus: tokens it acts on"},
	{Key: "entropy/valid_tokens", Unit: "tokens", Meaning: "regularizer: valid tokens"},
	{Key: "entropy/clamped_token_mean", Unit: "nats", Meaning: "AEnt: token-mean clamped entropy"},
	{Key: "entropy/coef", Unit: "coefficient", Meaning: "regularizer coefficient applied this step"},
	{Key: "entropy/loss", Unit: "loss", Meaning: "regularizer loss"},
	{Key: HighMaskThr, Unit: "nats", Meaning: "80/20 mask: entropy threshold"},
	{Key: HighMaskKept, Unit: "tokens", Meaning: "80/20 mask: tokens kept in the loss"},
	{Key: "entropy/high_mask_frac", Unit: "fraction", Meaning: "bonus with its own 80/20 mask: tokens kept"},
	{Key: EntropyCoef, Unit: "coefficient", Meaning: "entropy coefficient after this step's controller update", Axis: "entropy coefficient (after the controller)"},
	{Key: HAPOPivot, Unit: "log nats", Meaning: "HAPO temperature: the pivot quantile of log entropy", Axis: "HAPO entropy pivot (log nats)"},
	{Key: AEPOTemp, Unit: "temperature", Meaning: "AEPO: the pool's sampling temperature for the next step", Axis: "AEPO sampling temperature"},
	{Key: AEPOSampleNum, Unit: "samples", Meaning: "AEPO: pool samples in this step's batch", Axis: "AEPO pool samples (per step)"},
	{Key: ValAccuracy, Unit: "fraction", Meaning: "held-out greedy accuracy", Axis: "held-out greedy accuracy (fraction)"},
	{Key: ValReward, Unit: "reward", Meaning: "held-out greedy mean reward"},
	{Key: ValPassAt, Prefix: true, Unit: "fraction", Meaning: "held-out unbiased pass@k", Axis: "held-out pass@k (fraction of problems)"},
	{Key: ValMeanAt, Prefix: true, Unit: "fraction", Meaning: "held-out mean accuracy of k samples", Axis: "held-out mean@k (fraction)"},
	{Key: "reward/", Prefix: true, Unit: "as the command defines", Meaning: "a reward command's extra fields, mean over the step's samples"},
	{Key: Timing, Prefix: true, Unit: "s", Meaning: "wall time of a phase: gen, adv, update, diagnostic, eval, step"},
	{Key: Throughput, Unit: "tokens/s", Meaning: "prompt + completion tokens per second of the step"},
}

// Lookup returns the definition of key (an exact entry, or the longest
// prefix entry that key extends).
func Lookup(key string) (Def, bool) {
	var best Def
	found := false
	for _, d := range Table {
		switch {
		case d.Key == key && !d.Prefix:
			return d, true
		case d.Prefix && strings.HasPrefix(key, d.Key) && len(key) > len(d.Key) && (!found || len(d.Key) > len(best.Key)):
			best, found = d, true
		}
	}
	return best, found
}

// Label is key with its unit, for an axis: "actor/entropy (nats)". An
// unknown key is returned as it is.
func Label(key string) string {
	if d, ok := Lookup(key); ok && d.Unit != "" {
		return key + " (" + d.Unit + ")"
	}
	return key
}

// Axis is key's axis label from the table (its exact entry, or the
// longest prefix entry it extends) and whether the table has one.
func Axis(key string) (string, bool) {
	d, ok := Lookup(key)
	if !ok || d.Axis == "" {
		return "", false
	}
	return d.Axis, true
}

// Keys lists the table's keys (prefixes with a trailing *), sorted.
func Keys() []string {
	out := make([]string, len(Table))
	for i, d := range Table {
		out[i] = d.Key
		if d.Prefix {
			out[i] += "*"
		}
	}
	sort.Strings(out)
	return out
}
