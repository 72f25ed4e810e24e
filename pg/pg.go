package pg

import (
	"math/rand/v2"

	"github.com/entrolab/entrolab/masked"
)

// Loss is one policy loss: per-token log-probs and advantages in, a scalar to
// minimise, its gradient with respect to Input.Logp and metrics out.
//
// Compute writes ∂L/∂Logp[b][t] into dst (0 at masked positions) and returns
// it as Result.Grad; dst rows that are missing or too short are allocated, so
// pass the previous Result.Grad back in to reuse it. It returns an error when
// the inputs' shapes disagree or a field the loss Needs is missing.
type Loss interface {
	Needs() Needs                                      // optional Input fields it reads
	Compute(dst [][]float64, in Input) (Result, error) // loss, dLoss/dLogp, metrics
}

// Needs lists the optional Input fields a Loss reads; the trainer checks
// them once, when it is built.
type Needs struct {
	Entropy    bool // Input.Entropy [B][T] (HAPO, entropy_adv)
	OldEntropy bool // Input.OldEntropy [B][T] (STEER)
	Random     bool // Input.Uniform [B][T] or Input.Rand (Clip-Cov)
	RefLogp    bool // Input.RefLogp [B][T] (KLLoss)
}

// Input is what every Loss receives. Logp, OldLogp, Adv and Mask are always
// required and must have the same shape; rows may be ragged. Mask is 0/1:
// any non-zero entry marks a valid token. Values at masked positions are
// ignored (they may hold arbitrary finite junk).
type Input struct {
	Logp    [][]float64 // [B][T] current policy log π_θ(o_t); the gradient is w.r.t. this
	OldLogp [][]float64 // [B][T] behaviour policy (detached)
	Adv     [][]float64 // [B][T] advantages (constant)
	Mask    [][]float64 // [B][T] 1 for tokens in the loss, 0 for padding

	Entropy    [][]float64 // [B][T] current policy's next-token entropy (HAPO, entropy_adv)
	OldEntropy [][]float64 // [B][T] behaviour policy's next-token entropy (STEER)
	RefLogp    [][]float64 // [B][T] frozen reference policy (KLLoss)

	// Uniform holds one U(0,1) draw per token for Clip-Cov's random
	// selection ([B][T]); when nil, Rand supplies one draw per candidate
	// token in row-major order.
	Uniform [][]float64
	Rand    *rand.Rand

	// Trace, when non-nil, receives per-token diagnostics; its fields are
	// (re)allocated as needed. Leave nil in training for speed.
	Trace *Trace
}

// Result is one Compute's output.
type Result struct {
	Loss    float64            // aggregated loss to minimise
	Grad    [][]float64        // [B][T] ∂Loss/∂Logp, the dst passed in when it fitted
	Metrics map[string]float64 // spec names: pg_loss, pg_clipfrac, ppo_kl, ...
}

// Region classifies a token by which branch of the loss it took; the codes
// are those of the golden files' "region" field.
type Region uint8

// Region codes (golden README, "Region codes").
const (
	RegionMasked    Region = 0 // m = 0
	RegionUnclipped Region = 1 // gradient −A·r flows
	RegionClipHigh  Region = 2 // A>0 and r > 1+ε_h
	RegionClipLow   Region = 3 // A<0 and r < 1−ε_l
	RegionDualClip  Region = 4 // A<0 and r > c, dual clip on
	RegionZeroAdv   Region = 5 // A = 0
)

// Trace receives per-token diagnostics, all [B][T] and zero at masked
// positions. A loss fills only the fields that concern it.
type Trace struct {
	Loss   [][]float64 // ℓ before aggregation
	Ratio  [][]float64 // r = exp(Δ) (PPO: Δ clamped first)
	Region [][]Region

	Cov          [][]float64 // Clip-Cov, KL-Cov: centred covariance
	ClipByOrigin [][]bool    // Clip-Cov: PPO-clipped tokens
	Candidate    [][]bool    // Clip-Cov: tokens eligible for detaching
	Selected     [][]bool    // Clip-Cov: detached; KL-Cov: penalised
	SelectedList [][2]int    // Selected as sorted [b, t] pairs

	HHat    [][]float64           // HAPO: normalised entropy ĥ
	EpsLow  [][]float64           // HAPO: per-token ε_l after AAC
	EpsHigh [][]float64           // HAPO: per-token ε_h after AAC
	AdvUsed [][]float64           // HAPO: A′ after DAR
	Neutral [][]bool              // HAPO: r inside the DAR neutral zone (only with DAR on)
	Stats   []masked.EntropyStats // HAPO: one per statistics scope

	SeqLogRatio []float64   // GSPO: λ_b, one per row [B]
	ISWeight    [][]float64 // CISPO: the detached clipped weight w
	Tau         [][]float64 // SAPO: the gate temperature per token
	Gate        [][]float64 // SAPO: f(r) = σ(τ(r−1))·4/τ
	EntropyTerm [][]float64 // entropy_adv: ψ = min(α·H, |A|/κ); AdvUsed holds A′
	Capped      [][]bool    // entropy_adv: α·H > |A|/κ
}

// PPOToken is one token of the clipped surrogate (spec §5) with ratio
// bounds [lo, hi] and dual clip c (0: off), shared by every PPO-shaped loss.
// It returns ℓ, γ = ∂ℓ/∂logp (using ∂r/∂logp = r) and the region:
//
//	A > 0:  r > hi            → ℓ = −A·hi, γ = 0 (clip_high)
//	A < 0:  r < lo            → ℓ = −A·lo, γ = 0 (clip_low)
//	        c > 0 and r > c   → ℓ = −A·c,  γ = 0 (dual_clip)
//	A = 0                     → 0, 0 (zero_adv)
//	else                      → ℓ = γ = −A·r (unclipped)
func PPOToken(a, r, lo, hi, c float64) (l, g float64, reg Region) {
	switch {
	case a > 0:
		if r > hi {
			return -a * hi, 0, RegionClipHigh
		}
	case a < 0:
		if r < lo {
			return -a * lo, 0, RegionClipLow
		}
		if c > 0 && r > c {
			return -a * c, 0, RegionDualClip
		}
	default:
		return 0, 0, RegionZeroAdv
	}
	l = -a * r
	return l, l, RegionUnclipped
}
