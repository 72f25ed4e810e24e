package reward

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// AdditionConfig configures the addition task.
type AdditionConfig struct {
	Digits int `mapstructure:"digits"` // digits of each operand, 1..9 (1 means 0-9); default 3
}

// DefaultAdditionConfig returns 3-digit + 3-digit problems.
func DefaultAdditionConfig() AdditionConfig { return AdditionConfig{Digits: 3} }

func (c AdditionConfig) validate(heldOut float64) error {
	if c.Digits < 1 || c.Digits > 9 {
		return fmt.Errorf("reward: addition.digits %d must be in [1, 9]", c.Digits)
	}
	lo, hi := digitRange(c.Digits)
	n := hi - lo + 1
	return checkSplits("addition", n*n, heldOut, func(i int) string {
		a, b := lo+i/n, lo+i%n
		return problemKey("addition", []int{a, b}, a+b)
	})
}

// Addition asks for the sum of two operands of exactly Digits digits each.
//
//	prompt "a+b="   answer the decimal sum, e.g. "12+345=" -> "357"
//
// With Digits 1 the operands are 0-9; otherwise they have no leading zero.
// The answer must be the sum's decimal digits exactly: surrounding
// whitespace is ignored, but a leading zero ("0357"), a sign or anything
// after the number makes it wrong. Any non-empty run of digits is well
// formed (format reward). A learned-arithmetic benchmark in the spirit of
// verl's digit-completion task, scored TinyZero-style (see package doc).
type Addition struct {
	w       weights
	heldOut float64
	lo, hi  int
}

var _ Task = (*Addition)(nil)

func newAddition(cfg Config) (Task, error) {
	lo, hi := digitRange(cfg.Addition.Digits)
	return &Addition{w: cfg.weights(), heldOut: cfg.HeldOutFraction, lo: lo, hi: hi}, nil
}

// Name returns "addition".
func (*Addition) Name() string { return "addition" }

// Generate draws operands uniformly until the problem's key falls in split.
// It panics after maxAttempts draws, which Validate rules out.
func (t *Addition) Generate(r *rand.Rand, split Split) Problem {
	for range maxAttempts {
		a := t.lo + r.IntN(t.hi-t.lo+1)
		b := t.lo + r.IntN(t.hi-t.lo+1)
		p := Problem{
			Task:    "addition",
			Numbers: []int{a, b},
			Target:  a + b,
		}
		if p.Split = SplitOf(p.Key(), t.heldOut); p.Split != split {
			continue
		}
		p.Prompt = strconv.Itoa(a) + "+" + strconv.Itoa(b) + "="
		p.Answer = strconv.Itoa(a + b)
		return p
	}
	panic(fmt.Sprintf("reward: addition: no %v problem in %d draws", split, maxAttempts))
}

// Score checks that the completion is p.Target in decimal.
func (t *Addition) Score(p Problem, completion string) Score {
	return scoreNumber(t.w, p.Target, completion)
}

// scoreNumber scores a completion that must be the decimal form of target:
// well formed when it is a non-empty run of ASCII digits, correct when it
// is exactly strconv.Itoa(target).
func scoreNumber(w weights, target int, completion string) Score {
	s := Extract(completion)
	format := s != ""
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			format = false
			break
		}
	}
	var buf [24]byte
	correct := format && s == string(strconv.AppendInt(buf[:0], int64(target), 10))
	return w.score(correct, format)
}

// digitRange returns the smallest and largest numbers with exactly d digits
// (0 and 9 for d = 1).
func digitRange(d int) (lo, hi int) {
	hi = 1
	for range d {
		hi *= 10
	}
	lo = hi / 10
	if d == 1 {
		lo = 0
	}
	return lo, hi - 1
}

// checkSplits enumerates a problem space of n problems when it is small
// (at most 100000) and fails when one split would be empty; larger spaces
// are left to chance, which never leaves a split empty in practice.
func checkSplits(task string, n int, heldOut float64, key func(i int) string) error {
	if n > 100_000 {
		return nil
	}
	var seen [2]bool
	for i := range n {
		seen[SplitOf(key(i), heldOut)] = true
		if seen[Train] && seen[HeldOut] {
			return nil
		}
	}
	return fmt.Errorf("reward: %s: held_out_fraction %v leaves a split of its %d problems empty; change the fraction or the problem size", task, heldOut, n)
}
