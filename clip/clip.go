package clip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
	Entropy bool // Input.Entropy [B][T] (HAPO)
	Random  bool // Input.Uniform [B][T] or Input.Rand (Clip-Cov)
	RefLogp bool // Input.RefLogp [B][T] (KLLoss)
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

	Entropy [][]float64 // [B][T] current policy's next-token entropy (HAPO)
	RefLogp [][]float64 // [B][T] frozen reference policy (KLLoss)

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

	HHat    [][]float64    // HAPO: normalised entropy ĥ
	EpsLow  [][]float64    // HAPO: per-token ε_l after AAC
	EpsHigh [][]float64    // HAPO: per-token ε_h after AAC
	AdvUsed [][]float64    // HAPO: A′ after DAR
	Neutral [][]bool       // HAPO: r inside the DAR neutral zone (only with DAR on)
	Stats   []EntropyStats // HAPO: one per statistics scope

	SeqLogRatio []float64   // GSPO: λ_b, one per row [B]
	ISWeight    [][]float64 // CISPO: the detached clipped weight w
	Tau         [][]float64 // SAPO: the gate temperature per token
	Gate        [][]float64 // SAPO: f(r) = σ(τ(r−1))·4/τ
	EntropyTerm [][]float64 // entropy_adv: ψ = min(α·H, |A|/κ); AdvUsed holds A′
	Capped      [][]bool    // entropy_adv: α·H > |A|/κ
}

// ErrUnknownName is wrapped by New and NewKL when the name is not registered.
var ErrUnknownName = errors.New("unknown name")

// checkInput verifies that the required fields, and the optional ones the
// loss needs, have the shape of Logp.
func checkInput(in Input, needs Needs) error {
	if err := sameShape("old_logp", in.OldLogp, in.Logp); err != nil {
		return err
	}
	if err := sameShape("adv", in.Adv, in.Logp); err != nil {
		return err
	}
	if err := sameShape("mask", in.Mask, in.Logp); err != nil {
		return err
	}
	if needs.Entropy {
		if in.Entropy == nil {
			return errors.New("clip: input entropy is required")
		}
		if err := sameShape("entropy", in.Entropy, in.Logp); err != nil {
			return err
		}
	}
	if needs.RefLogp {
		if in.RefLogp == nil {
			return errors.New("clip: input ref_logp is required")
		}
		if err := sameShape("ref_logp", in.RefLogp, in.Logp); err != nil {
			return err
		}
	}
	if needs.Random {
		if in.Uniform == nil && in.Rand == nil {
			return errors.New("clip: input uniform or rand is required")
		}
		if in.Uniform != nil {
			if err := sameShape("uniform", in.Uniform, in.Logp); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameShape(name string, x, ref [][]float64) error {
	if len(x) != len(ref) {
		return fmt.Errorf("clip: input %s has %d rows, logp has %d", name, len(x), len(ref))
	}
	for b := range ref {
		if len(x[b]) != len(ref[b]) {
			return fmt.Errorf("clip: input %s row %d has %d tokens, logp has %d", name, b, len(x[b]), len(ref[b]))
		}
	}
	return nil
}

// growLike returns dst reshaped to the row lengths of like, reusing dst's
// storage where it is long enough. Contents are not cleared.
func growLike[E any](dst [][]E, like [][]float64) [][]E {
	if cap(dst) < len(like) {
		dst = append(dst[:cap(dst)], make([][]E, len(like)-cap(dst))...)
	}
	dst = dst[:len(like)]
	for b, row := range like {
		if cap(dst[b]) < len(row) {
			dst[b] = make([]E, len(row))
		}
		dst[b] = dst[b][:len(row)]
	}
	return dst
}

// growTrace prepares the trace fields every policy loss fills.
func (tr *Trace) grow(like [][]float64) {
	tr.Loss = growLike(tr.Loss, like)
	tr.Ratio = growLike(tr.Ratio, like)
	tr.Region = growLike(tr.Region, like)
}

// maskedMeanDen is verl's masked_mean denominator, Σm + 1e-8.
func maskedMeanDen(n int) float64 { return float64(n) + 1e-8 }

// countValid returns the number of valid tokens.
func countValid(mask [][]float64) int {
	n := 0
	for _, row := range mask {
		for _, m := range row {
			if m != 0 {
				n++
			}
		}
	}
	return n
}

// setRow writes v to every position of a trace row (used for masked rows).
func zeroRow[E any](row []E) {
	var z E
	for i := range row {
		row[i] = z
	}
}

// keyed is a token with a selection key, ordered by (key, b, t): ties go to
// the smaller row-major index.
type keyed struct {
	key  float64
	b, t int32
}

func (x keyed) less(y keyed) bool {
	if x.key != y.key {
		return x.key < y.key
	}
	if x.b != y.b {
		return x.b < y.b
	}
	return x.t < y.t
}

func cmpKeyed(x, y keyed) int {
	if x.less(y) {
		return -1
	}
	if y.less(x) {
		return 1
	}
	return 0
}

func cmpIndex(x, y keyed) int {
	if x.b != y.b {
		return int(x.b - y.b)
	}
	return int(x.t - y.t)
}

// smallestK moves the k smallest items (by key, then row-major index) to
// items[:k], sorted by row-major index, and returns items[:k]. It runs a
// bounded max-heap, O(n log k), and allocates nothing.
func smallestK(items []keyed, k int) []keyed {
	if k <= 0 {
		return items[:0]
	}
	if k < len(items) {
		h := items[:k]
		for i := k/2 - 1; i >= 0; i-- {
			siftDown(h, i)
		}
		for _, it := range items[k:] {
			if it.less(h[0]) {
				h[0] = it
				siftDown(h, 0)
			}
		}
		items = h
	}
	slices.SortFunc(items, cmpIndex)
	return items
}

// siftDown restores the max-heap property of h below i.
func siftDown(h []keyed, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		big := l
		if r := l + 1; r < len(h) && h[l].less(h[r]) {
			big = r
		}
		if !h[i].less(h[big]) {
			return
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

// scopes splits rows [0, n) into consecutive statistics scopes of size rows
// each (the last may be shorter); rows <= 0 means one scope.
func scopes(n, rows int, yield func(lo, hi int)) {
	if rows <= 0 || rows >= n {
		yield(0, n)
		return
	}
	for lo := 0; lo < n; lo += rows {
		yield(lo, min(lo+rows, n))
	}
}

// Config selects and configures one policy loss. Agg's keys
// (loss_agg_mode, loss_scale_factor) sit at the top level beside name.
type Config struct {
	Name string `mapstructure:"name"` // a registered name, see Names; default "ppo"
	Agg  `mapstructure:",squash"`

	PPO        PPOConfig        `mapstructure:"ppo"`             // read only when Name is "ppo"
	ClipHigher PPOConfig        `mapstructure:"ppo_clip_higher"` // read only when Name is "ppo_clip_higher"
	ClipCov    ClipCovConfig    `mapstructure:"clip_cov"`        // read only when Name is "clip_cov"
	KLCov      KLCovConfig      `mapstructure:"kl_cov"`          // read only when Name is "kl_cov"
	CEGPPO     CEGPPOConfig     `mapstructure:"cegppo"`          // read only when Name is "cegppo"
	HAPO       HAPOConfig       `mapstructure:"hapo"`            // read only when Name is "hapo"
	GSPO       GSPOConfig       `mapstructure:"gspo"`            // read only when Name is "gspo"
	CISPO      CISPOConfig      `mapstructure:"cispo"`           // read only when Name is "cispo"
	SAPO       SAPOConfig       `mapstructure:"sapo"`            // read only when Name is "sapo"
	EntropyAdv EntropyAdvConfig `mapstructure:"entropy_adv"`     // read only when Name is "entropy_adv"
}

// DefaultConfig returns PPO with verl's defaults, token-mean aggregation,
// and every member's own defaults filled in.
func DefaultConfig() Config {
	return Config{
		Name:       "ppo",
		Agg:        DefaultAgg(),
		PPO:        DefaultPPOConfig(),
		ClipHigher: DefaultClipHigherConfig(),
		ClipCov:    DefaultClipCovConfig(),
		KLCov:      DefaultKLCovConfig(),
		CEGPPO:     DefaultCEGPPOConfig(),
		HAPO:       DefaultHAPOConfig(),
		GSPO:       DefaultGSPOConfig(),
		CISPO:      DefaultCISPOConfig(),
		SAPO:       DefaultSAPOConfig(),
		EntropyAdv: DefaultEntropyAdvConfig(),
	}
}

// Validate checks the name, the aggregation and the named member's config
// (the others are not read). An unknown name wraps ErrUnknownName.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}
