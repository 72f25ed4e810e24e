package clip

import (
	"errors"
	"fmt"
	"slices"

	"github.com/entrolab/entrolab/masked"
	"github.com/entrolab/entrolab/pg"
)

// Loss, Needs, Input, Result, Region and Trace are the one policy-loss
// interface of package pg, which the entropy family's losses (STEER, AEPO)
// implement too.
type (
	Loss   = pg.Loss
	Needs  = pg.Needs
	Input  = pg.Input
	Result = pg.Result
	Region = pg.Region
	Trace  = pg.Trace
)

// Region codes (golden README, "Region codes").
const (
	RegionMasked    = pg.RegionMasked
	RegionUnclipped = pg.RegionUnclipped
	RegionClipHigh  = pg.RegionClipHigh
	RegionClipLow   = pg.RegionClipLow
	RegionDualClip  = pg.RegionDualClip
	RegionZeroAdv   = pg.RegionZeroAdv
)

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
func growTrace(tr *Trace, like [][]float64) {
	tr.Loss = growLike(tr.Loss, like)
	tr.Ratio = growLike(tr.Ratio, like)
	tr.Region = growLike(tr.Region, like)
}

// maskedMeanDen is verl's masked_mean denominator, Σm + 1e-8.
func maskedMeanDen(n int) float64 { return masked.Den(n) }

// countValid returns the number of valid tokens.
func countValid(mask [][]float64) int { return masked.Count(mask) }

// zeroedLike is growLike with the contents cleared (for trace fields a
// loss fills only at valid positions).
func zeroedLike[E any](dst [][]E, like [][]float64) [][]E {
	dst = growLike(dst, like)
	for _, row := range dst {
		clear(row)
	}
	return dst
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

// scopeSums is the valid-token count and the sums of the advantages and
// log-probs over rows [r0, r1): the centring of the covariance losses
// (Clip-Cov, KL-Cov), in row-major order.
func scopeSums(in Input, r0, r1 int) (n int, advSum, logpSum float64) {
	for b := r0; b < r1; b++ {
		for t, m := range in.Mask[b] {
			if m != 0 {
				n++
				advSum += in.Adv[b][t]
				logpSum += in.Logp[b][t]
			}
		}
	}
	return n, advSum, logpSum
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

// begin is what every loss's Compute does first: check the inputs it
// needs, shape dst like Logp, compute the aggregation's row weights into w
// and prepare the trace.
func begin(dst [][]float64, in Input, needs Needs, agg Agg, w []float64) ([][]float64, []float64, error) {
	if err := checkInput(in, needs); err != nil {
		return nil, w, err
	}
	if in.Trace != nil {
		growTrace(in.Trace, in.Logp)
	}
	return growLike(dst, in.Logp), agg.RowWeights(w, in.Mask), nil
}

// tokenFn is one valid token [b][t] of a per-token loss: ℓ, γ = ∂ℓ/∂logp,
// the ratio a trace shows and the region.
type tokenFn func(b, t int) (l, g, ratio float64, reg Region)

// sumTokens is the loop every per-token loss shares: L = Σ_b w_b·Σ_t ℓ over
// the valid tokens and ∂L/∂logp = w_b·γ into dst (0 at masked positions,
// where the trace gets 0 and RegionMasked too).
func sumTokens(dst [][]float64, in Input, w []float64, f tokenFn) float64 {
	tr := in.Trace
	loss := 0.0
	for b, mask := range in.Mask {
		g := dst[b]
		sum := 0.0
		for t, m := range mask {
			if m == 0 {
				g[t] = 0
				if tr != nil {
					tr.Loss[b][t], tr.Ratio[b][t], tr.Region[b][t] = 0, 0, RegionMasked
				}
				continue
			}
			l, gm, r, reg := f(b, t)
			sum += l
			g[t] = w[b] * gm
			if tr != nil {
				tr.Loss[b][t], tr.Ratio[b][t], tr.Region[b][t] = l, r, reg
			}
		}
		loss += w[b] * sum
	}
	return loss
}

// ratioMetrics are the standard metrics (spec §2.3) from counts over n
// valid tokens: verl's masked means.
func ratioMetrics(loss float64, n, clipped, lower int, negKL float64) map[string]float64 {
	den := maskedMeanDen(n)
	return map[string]float64{
		"pg_loss":           loss,
		"pg_clipfrac":       float64(clipped) / den,
		"pg_clipfrac_lower": float64(lower) / den,
		"ppo_kl":            negKL / den,
	}
}

// clampLogRatio clamps d to ±c (c = 0: no clamp) and returns dr, the
// derivative of the clamp: 1 inside, 0 where it acts.
func clampLogRatio(d, c float64) (float64, float64) {
	if c > 0 {
		if d > c {
			return c, 0
		}
		if d < -c {
			return -c, 0
		}
	}
	return d, 1
}
