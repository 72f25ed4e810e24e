package reward

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// MultiplicationConfig configures the multiplication task.
type MultiplicationConfig struct {
	LeftDigits  int `mapstructure:"left_digits"`  // the left operand has up to this many digits, 1..9; default 2
	RightDigits int `mapstructure:"right_digits"` // the right operand has up to this many digits, 1..9; default 1
}

// DefaultMultiplicationConfig returns (0-99) * (0-9) problems.
func DefaultMultiplicationConfig() MultiplicationConfig {
	return MultiplicationConfig{LeftDigits: 2, RightDigits: 1}
}

func (c MultiplicationConfig) validate(heldOut float64) error {
	if c.LeftDigits < 1 || c.LeftDigits > 9 {
		return fmt.Errorf("reward: multiplication.left_digits %d must be in [1, 9]", c.LeftDigits)
	}
	if c.RightDigits < 1 || c.RightDigits > 9 {
		return fmt.Errorf("reward: multiplication.right_digits %d must be in [1, 9]", c.RightDigits)
	}
	_, hiA := digitRange(c.LeftDigits)
	_, hiB := digitRange(c.RightDigits)
	nB := hiB + 1
	if hiA+1 > 100_000/nB {
		return nil // too many problems for checkSplits to enumerate
	}
	return checkSplits("multiplication", (hiA+1)*nB, heldOut, func(i int) string {
		a, b := i/nB, i%nB
		return problemKey("multiplication", []int{a, b}, a*b)
	})
}

// Multiplication asks for the product of a left operand of up to
// LeftDigits digits and a right one of up to RightDigits digits, each
// uniform from 0.
//
//	prompt "a*b="   answer the decimal product, e.g. "47*8=" -> "376"
//
// Scored like Addition: exactly the product's decimal digits, surrounding
// whitespace ignored, leading zeros wrong; any run of digits is well formed.
type Multiplication struct {
	w        weights
	heldOut  float64
	hiA, hiB int
}

var _ Task = (*Multiplication)(nil)

func newMultiplication(cfg Config) (Task, error) {
	_, hiA := digitRange(cfg.Multiplication.LeftDigits)
	_, hiB := digitRange(cfg.Multiplication.RightDigits)
	return &Multiplication{w: cfg.weights(), heldOut: cfg.HeldOutFraction, hiA: hiA, hiB: hiB}, nil
}

// Name returns "multiplication".
func (*Multiplication) Name() string { return "multiplication" }

// Generate draws operands uniformly until the problem's key falls in split.
// It panics after maxAttempts draws, which Validate rules out.
func (t *Multiplication) Generate(r *rand.Rand, split Split) Problem {
	for range maxAttempts {
		a := r.IntN(t.hiA + 1)
		b := r.IntN(t.hiB + 1)
		p := Problem{
			Task:    "multiplication",
			Numbers: []int{a, b},
			Target:  a * b,
		}
		if p.Split = SplitOf(p.Key(), t.heldOut); p.Split != split {
			continue
		}
		p.Prompt = strconv.Itoa(a) + "*" + strconv.Itoa(b) + "="
		p.Answer = strconv.Itoa(a * b)
		return p
	}
	panic(fmt.Sprintf("reward: multiplication: no %v problem in %d draws", split, maxAttempts))
}

// Score checks that the completion is p.Target in decimal.
func (t *Multiplication) Score(p Problem, completion string) Score {
	return scoreNumber(t.w, p.Target, completion)
}
