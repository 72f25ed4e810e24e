package advantage

import (
	"fmt"
	"math"
)

// Estimator computes advantages for one batch.
//
// Estimate writes A[b][t] into dst, one value per token position of
// in.Mask, 0 on masked tokens. dst must have at least B rows; a row shorter
// than its mask row is replaced by a new one in place (the caller sees it),
// so a dst from [Alloc] or a previous call is reused without allocation.
// Errors name the estimator and the offending field (shape mismatch, a
// non-finite reward, a missing optional field).
type Estimator interface {
	Needs() Needs                             // optional Input fields it reads
	Estimate(dst [][]float64, in Input) error // one value per unmasked token
}

// Sequencer is implemented by the outcome estimators whose advantage is one
// scalar per response (grpo, dr_grpo, rloo, aapo). Sequence writes a_b into
// dst[:B], before the broadcast A[b][t] = a_b·m[b][t] that Estimate does.
type Sequencer interface {
	Sequence(dst []float64, in Input) error
}

// Input is the batch every estimator reads. Rewards, Group and Mask are the
// core fields; the others are optional and read only by the estimators whose
// Needs says so.
type Input struct {
	// Rewards holds the outcome reward R_b of each response. [B]
	// When rewards are per token (a KL-in-reward penalty), the trainer sums
	// each row into R_b for the outcome estimators, as verl does.
	Rewards []float64
	// Group holds the group (prompt) id of each response; equal ids form one
	// group. Ids are arbitrary ints, not necessarily dense or sorted. [B]
	Group []int
	// Mask is 1 on the valid (generated, trained) tokens and 0 on padding.
	// Rows may be ragged. [B][T]
	Mask [][]float64

	// RefRewards holds, for AAPO, the reward of the completion sampled from
	// the frozen reference policy for the same prompt, paired with response
	// b by position. [B]
	RefRewards []float64
	// TokenRewards holds per-token rewards for REINFORCE++ (the outcome score
	// on the last valid token, see [OutcomeTokenRewards], plus any per-token
	// penalty). Each row must be at least as long as its mask row; values at
	// masked positions are ignored. [B][T]
	TokenRewards [][]float64
}

// Needs lists the Input fields beyond Rewards and Mask that an estimator
// reads; each one marked must be set, or Estimate errors.
type Needs struct {
	Group        bool // Input.Group: group-relative estimators
	RefRewards   bool // Input.RefRewards: AAPO
	TokenRewards bool // Input.TokenRewards: REINFORCE++
}

// Config selects an estimator by Name and carries each estimator's settings;
// a section is read only by the estimators named beside it.
type Config struct {
	Name        string            `mapstructure:"name"`
	GRPO        GRPOConfig        `mapstructure:"grpo"`         // grpo; dr_grpo reads only eps
	RLOO        RLOOConfig        `mapstructure:"rloo"`         // rloo
	ReinforcePP ReinforcePPConfig `mapstructure:"reinforce_pp"` // reinforce_pp
	AAPO        AAPOConfig        `mapstructure:"aapo"`         // aapo
	HAPO        HAPOConfig        `mapstructure:"hapo"`         // hapo
}

// DefaultConfig returns GRPO with verl's defaults, and every other section
// at its source's defaults.
func DefaultConfig() Config {
	return Config{
		Name:        "grpo",
		GRPO:        DefaultGRPOConfig(),
		RLOO:        DefaultRLOOConfig(),
		ReinforcePP: DefaultReinforcePPConfig(),
		AAPO:        DefaultAAPOConfig(),
		HAPO:        DefaultHAPOConfig(),
	}
}

// Validate checks the name against the registry and every section, so a bad
// value fails when the run is configured even if its estimator is not used.
func (c Config) Validate() error {
	if _, err := lookup(c.Name); err != nil {
		return err
	}
	for _, v := range []interface{ Validate() error }{c.GRPO, c.RLOO, c.ReinforcePP, c.AAPO, c.HAPO} {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Alloc returns a dst shaped like mask: one row per response, each as long
// as its mask row.
func Alloc(mask [][]float64) [][]float64 {
	n := 0
	for _, row := range mask {
		n += len(row)
	}
	flat := make([]float64, n)
	dst := make([][]float64, len(mask))
	for b, row := range mask {
		dst[b], flat = flat[:len(row):len(row)], flat[len(row):]
	}
	return dst
}

// fitDst checks that dst has a row per mask row and sizes each row to its
// mask row, reallocating only rows that are too short.
func fitDst(name string, dst, mask [][]float64) error {
	if len(dst) < len(mask) {
		return fmt.Errorf("advantage: %s: dst has %d rows, want %d (see Alloc)", name, len(dst), len(mask))
	}
	for b, row := range mask {
		if cap(dst[b]) < len(row) {
			dst[b] = make([]float64, len(row))
		}
		dst[b] = dst[b][:len(row)]
	}
	return nil
}

// checkInput validates the shapes and values of the fields an estimator
// reads: rewards says whether Rewards is read, needs which optional fields.
func checkInput(name string, in Input, rewards bool, needs Needs) error {
	B := len(in.Mask)
	for b, row := range in.Mask {
		for t, m := range row {
			if !(m >= 0 && m <= 1) {
				return fmt.Errorf("advantage: %s: mask[%d][%d] = %v, want a value in [0, 1]", name, b, t, m)
			}
		}
	}
	if rewards {
		if err := checkVec(name, "rewards", in.Rewards, B); err != nil {
			return err
		}
	}
	if needs.Group && len(in.Group) != B {
		return fmt.Errorf("advantage: %s: %d group ids for %d responses", name, len(in.Group), B)
	}
	if needs.RefRewards {
		if in.RefRewards == nil {
			return fmt.Errorf("advantage: %s: ref rewards missing (Input.RefRewards)", name)
		}
		if err := checkVec(name, "ref rewards", in.RefRewards, B); err != nil {
			return err
		}
	}
	if needs.TokenRewards {
		if in.TokenRewards == nil {
			return fmt.Errorf("advantage: %s: token rewards missing (Input.TokenRewards)", name)
		}
		if len(in.TokenRewards) != B {
			return fmt.Errorf("advantage: %s: %d token-reward rows for %d responses", name, len(in.TokenRewards), B)
		}
		for b, row := range in.Mask {
			if len(in.TokenRewards[b]) < len(row) {
				return fmt.Errorf("advantage: %s: token rewards row %d has %d values, mask has %d", name, b, len(in.TokenRewards[b]), len(row))
			}
			for t, m := range row {
				if v := in.TokenRewards[b][t]; m != 0 && !inRange(v) {
					return fmt.Errorf("advantage: %s: token reward [%d][%d] = %v, want |r| <= %g", name, b, t, v, MaxAbsReward)
				}
			}
		}
	}
	return nil
}

func checkVec(name, field string, v []float64, B int) error {
	if len(v) != B {
		return fmt.Errorf("advantage: %s: %d %s for %d responses", name, len(v), field, B)
	}
	for b, x := range v {
		if !inRange(x) {
			return fmt.Errorf("advantage: %s: %s[%d] = %v, want |r| <= %g", name, field, b, x, MaxAbsReward)
		}
	}
	return nil
}

// MaxAbsReward bounds the magnitude of every reward an estimator accepts.
// Within it no sum, square or quotient formed here overflows, so finite
// inputs give finite advantages; a larger (or non-finite) reward is an
// error.
const MaxAbsReward = 1e100

func inRange(x float64) bool { return math.Abs(x) <= MaxAbsReward }

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// broadcast writes A[b][t] = a_b·m[b][t].
func broadcast(dst [][]float64, seq []float64, mask [][]float64) {
	for b, row := range mask {
		a, d := seq[b], dst[b]
		for t, m := range row {
			d[t] = a * m
		}
	}
}

// grouping maps arbitrary group ids to dense indices 0..K-1 in order of
// first appearance and keeps per-group scratch; it allocates only when the
// batch grows.
type grouping struct {
	index map[int]int
	ids   []int // [K] group id of each dense index
	head  []int // [K] first response of each group
	of    []int // [B] dense group index of each response
	size  []int // [K] responses per group
}

// build indexes ids and returns the number of groups K.
func (g *grouping) build(ids []int) int {
	if g.index == nil {
		g.index = make(map[int]int)
	}
	clear(g.index)
	g.ids = g.ids[:0]
	g.head = g.head[:0]
	g.size = g.size[:0]
	g.of = grow(g.of, len(ids))
	for b, id := range ids {
		k, ok := g.index[id]
		if !ok {
			k = len(g.ids)
			g.index[id] = k
			g.ids = append(g.ids, id)
			g.head = append(g.head, b)
			g.size = append(g.size, 0)
		}
		g.of[b] = k
		g.size[k]++
	}
	return len(g.ids)
}

// grow returns s resized to n, reusing its array when it is large enough.
// The contents are not cleared.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// groupStats is the per-group scratch of the outcome estimators.
type groupStats struct {
	grouping
	mean  []float64 // [K]
	std   []float64 // [K]
	equal []bool    // [K] every reward in the group equals the first one
}

// sums indexes the groups of ids and leaves each group's reward sum in
// mean (the callers divide as their estimator defines); it returns K.
func (s *groupStats) sums(r []float64, ids []int) int {
	K := s.build(ids)
	s.mean = grow(s.mean, K)
	clear(s.mean)
	for b, x := range r {
		s.mean[s.of[b]] += x
	}
	return K
}

// meanStd fills mean, std (unbiased, over responses) and equal for the
// groups of ids, reading r. Groups of one get std 0.
func (s *groupStats) meanStd(r []float64, ids []int) {
	K := s.build(ids)
	s.mean = grow(s.mean, K)
	s.std = grow(s.std, K)
	s.equal = grow(s.equal, K)
	clear(s.mean)
	clear(s.std)
	for k := range K {
		s.equal[k] = true
	}
	for b, x := range r {
		k := s.of[b]
		s.mean[k] += x
		if x != r[s.head[k]] {
			s.equal[k] = false
		}
	}
	for k := range K {
		s.mean[k] /= float64(s.size[k])
	}
	for b, x := range r {
		k := s.of[b]
		d := x - s.mean[k]
		s.std[k] += d * d
	}
	for k := range K {
		if n := s.size[k]; n > 1 {
			s.std[k] = math.Sqrt(s.std[k] / float64(n-1))
		} else {
			s.std[k] = 0
		}
	}
}

// grpoSeq writes the GRPO outcome advantage of each response into dst (verl
// compute_grpo_outcome_advantage): a_b = (R_b − μ_k)/(σ_k + eps), or
// R_b − μ_k without scaling; a group of one uses μ = 0, σ = 1; a group whose
// rewards are all equal gets exactly 0.
func grpoSeq(dst, r []float64, ids []int, s *groupStats, eps float64, scale bool) {
	s.meanStd(r, ids)
	for b, x := range r {
		k := s.of[b]
		switch {
		case s.size[k] == 1:
			if scale {
				dst[b] = x / (1 + eps)
			} else {
				dst[b] = x
			}
		case s.equal[k]:
			dst[b] = 0
		case scale:
			dst[b] = (x - s.mean[k]) / (s.std[k] + eps)
		default:
			dst[b] = x - s.mean[k]
		}
	}
}

// checkPositive reports a config value that must be finite and > 0.
func checkPositive(key string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("advantage: %s = %v, want a finite value > 0", key, v)
	}
	return nil
}
