package rollout

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/entrolab/entrolab/internal/kern"
)

// sortSmall is the vocabulary size up to which truncation sorts by
// insertion (the project's task vocabularies).
const sortSmall = 256

// Sampling configures how tokens are drawn: one generation call's settings,
// and a training run's sampling section (the same struct, read from YAML
// under sampling.*; ValidateRun holds a run's bounds, DefaultRunSampling its
// defaults).
type Sampling struct {
	Temperature  float64 `mapstructure:"temperature"`    // 0 = greedy; default 1
	TopK         int     `mapstructure:"top_k"`          // keep the k most likely tokens; 0 = off
	TopP         float64 `mapstructure:"top_p"`          // nucleus mass; 1 = off
	MinP         float64 `mapstructure:"min_p"`          // drop tokens below min_p * p_max; 0 = off
	MaxNewTokens int     `mapstructure:"max_new_tokens"` // completion length cap
	// N is the completions per prompt: a run's group size (rollout.n in
	// verl; the setting sampling.group_size), an evaluation's k.
	N int `mapstructure:"group_size"`

	// TokenTemp, if set, gives each token its own temperature from the
	// entropy of the untempered next-token distribution (HAPO's adaptive
	// temperature sampling); Temperature is then only the greedy switch.
	// A step sets it (a method's Sample part), never a config.
	TokenTemp func(entropy float64) float64 `mapstructure:"-" json:"-" yaml:"-"`
}

// DefaultSampling: temperature 1, no truncation, 64 new tokens, 1 per prompt.
func DefaultSampling() Sampling {
	return Sampling{Temperature: 1, TopP: 1, MaxNewTokens: 64, N: 1}
}

// DefaultRunSampling is a training run's sampling section by default:
// temperature 1, no truncation, 12 new tokens (the bundled tasks' answers
// are short), 8 completions per prompt.
func DefaultRunSampling() Sampling {
	s := DefaultSampling()
	s.MaxNewTokens, s.N = 12, 8
	return s
}

// Upper limits of a training run's sampling section (README "Limits"): far
// above the bundled experiments, they keep a typo from allocating without
// bound.
const (
	MaxRunTemperature = 10      // sampling.temperature (one call allows 100)
	MaxTopK           = 1 << 20 // sampling.top_k
	MaxRunNewTokens   = 1024    // sampling.max_new_tokens
	MaxGroupSize      = 1024    // sampling.group_size
)

// ValidateRun checks s as a training run's sampling section, key being the
// section's dotted name ("sampling"): each setting within its bounds, and
// what RL needs beyond one call (Validate): a temperature above 0 and at
// least two completions per prompt. The error names the full key, the value
// and what is allowed.
func (s Sampling) ValidateRun(key string) error {
	switch {
	case s.N > MaxGroupSize:
		return fmt.Errorf("rollout: %s.group_size = %d exceeds its upper limit %d", key, s.N, MaxGroupSize)
	case s.TopK > MaxTopK:
		return fmt.Errorf("rollout: %s.top_k = %d exceeds its upper limit %d", key, s.TopK, MaxTopK)
	case !(s.Temperature > 0 && s.Temperature <= MaxRunTemperature):
		return fmt.Errorf("rollout: %s.temperature = %v, want in (0, %d] (RL needs sampling)", key, s.Temperature, MaxRunTemperature)
	case s.TopK < 0:
		return fmt.Errorf("rollout: %s.top_k = %d, want >= 0 (0 = off)", key, s.TopK)
	case !(s.TopP > 0 && s.TopP <= 1):
		return fmt.Errorf("rollout: %s.top_p = %v, want in (0, 1] (1 = off)", key, s.TopP)
	case !(s.MinP >= 0 && s.MinP < 1):
		return fmt.Errorf("rollout: %s.min_p = %v, want in [0, 1) (0 = off)", key, s.MinP)
	case s.MaxNewTokens < 1 || s.MaxNewTokens > MaxRunNewTokens:
		return fmt.Errorf("rollout: %s.max_new_tokens = %d, want in [1, %d]", key, s.MaxNewTokens, MaxRunNewTokens)
	case s.N < 2:
		return fmt.Errorf("rollout: %s.group_size = %d, want >= 2 (group baselines need two samples)", key, s.N)
	}
	return nil
}

// Validate names the first bad field.
func (s Sampling) Validate() error {
	switch {
	case !(s.Temperature >= 0 && s.Temperature <= 100):
		return fmt.Errorf("rollout: temperature = %v, want in [0, 100] (0 = greedy)", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("rollout: top_k = %d, want >= 0 (0 = off)", s.TopK)
	case !(s.TopP > 0 && s.TopP <= 1):
		return fmt.Errorf("rollout: top_p = %v, want in (0, 1] (1 = off)", s.TopP)
	case !(s.MinP >= 0 && s.MinP < 1):
		return fmt.Errorf("rollout: min_p = %v, want in [0, 1) (0 = off)", s.MinP)
	case s.MaxNewTokens < 1:
		return fmt.Errorf("rollout: max_new_tokens = %d, want >= 1", s.MaxNewTokens)
	case s.N < 1:
		return fmt.Errorf("rollout: n = %d, want >= 1", s.N)
	}
	return nil
}

// sampler holds one worker's scratch for drawing from a logits row.
type sampler struct {
	p   []float64 // [V]
	idx []int     // [V]
}

func newSampler(v int) *sampler { return &sampler{p: make([]float64, v), idx: make([]int, v)} }

// draw picks a token from z (raw logits) at temperature temp under s's
// truncations, given a uniform u in [0, 1). It returns the token and its
// log-prob under the distribution actually sampled from (0 for greedy).
func (sm *sampler) draw(z []float32, temp float64, s *Sampling, u float64) (int, float64) {
	if temp == 0 {
		best := 0
		for j, x := range z {
			if x > z[best] {
				best = j
			}
		}
		return best, 0
	}
	p := sm.p[:len(z)]
	inv := 1 / temp
	mx := math.Inf(-1)
	for _, x := range z {
		mx = max(mx, float64(x)*inv) // inlined; math.Max's value except with a NaN
	}
	if mx != mx { // a NaN logit: math.Max's own rules (+Inf wins over NaN)
		mx = math.Inf(-1)
		for _, x := range z {
			mx = math.Max(mx, float64(x)*inv)
		}
	}
	sum := kern.ExpShifted(p, z, inv, mx) // p[j] = math.Exp(z[j]*inv - mx), summed in order
	pmax := 1 / sum                       // the largest entry is exp(0)/sum
	for j := range p {
		p[j] /= sum
	}
	truncated := false
	if s.MinP > 0 {
		cut := s.MinP * pmax
		for j := range p {
			if p[j] < cut {
				p[j] = 0
				truncated = true
			}
		}
	}
	if (s.TopK > 0 && s.TopK < len(z)) || s.TopP < 1 {
		idx := sm.idx[:len(z)]
		for j := range idx {
			idx[j] = j
		}
		// by descending probability, ties by index: a strict total order
		// (p has no NaN), so every sort gives the same permutation; an
		// insertion sort below sortSmall entries, pdqsort above (V = 50257
		// took seconds a token by insertion).
		if len(idx) <= sortSmall {
			for a := 1; a < len(idx); a++ {
				for b := a; b > 0 && (p[idx[b]] > p[idx[b-1]] || (p[idx[b]] == p[idx[b-1]] && idx[b] < idx[b-1])); b-- {
					idx[b], idx[b-1] = idx[b-1], idx[b]
				}
			}
		} else {
			slices.SortFunc(idx, func(a, b int) int {
				switch {
				case p[a] > p[b]:
					return -1
				case p[a] < p[b]:
					return 1
				}
				return cmp.Compare(a, b)
			})
		}
		keep := len(idx)
		if s.TopK > 0 && s.TopK < keep {
			keep = s.TopK
		}
		if s.TopP < 1 {
			var c float64
			for r := 0; r < keep; r++ {
				c += p[idx[r]]
				if c >= s.TopP {
					keep = r + 1
					break
				}
			}
		}
		for _, j := range idx[keep:] {
			if p[j] != 0 {
				p[j] = 0
				truncated = true
			}
		}
	}
	if truncated {
		sum = 0
		for _, x := range p {
			sum += x
		}
		for j := range p {
			p[j] /= sum
		}
	}
	var c float64
	last := 0
	for j, x := range p {
		if x == 0 {
			continue
		}
		last = j
		c += x
		if u < c {
			return j, math.Log(x)
		}
	}
	return last, math.Log(p[last]) // u within rounding of 1
}
