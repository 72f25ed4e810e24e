package reward

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
)

// CountdownConfig configures the countdown task. Defaults follow TinyZero's
// Countdown-Tasks-3to4 data: 3 or 4 numbers in 1-99, targets in 1-100.
type CountdownConfig struct {
	MinCount   int  `mapstructure:"min_count"`   // fewest given numbers, 2..6; default 3
	MaxCount   int  `mapstructure:"max_count"`   // most given numbers, min_count..6; default 4
	MinNumber  int  `mapstructure:"min_number"`  // smallest given number, 1..999; default 1
	MaxNumber  int  `mapstructure:"max_number"`  // largest given number, min_number..999; default 99
	MinTarget  int  `mapstructure:"min_target"`  // smallest target, >= 1; default 1
	MaxTarget  int  `mapstructure:"max_target"`  // largest target, min_target..999999; default 100
	RequireAll bool `mapstructure:"require_all"` // true: each number exactly once (TinyZero); false: at most once; default false
}

// DefaultCountdownConfig returns TinyZero's ranges with the "at most once"
// rule.
func DefaultCountdownConfig() CountdownConfig {
	return CountdownConfig{MinCount: 3, MaxCount: 4, MinNumber: 1, MaxNumber: 99, MinTarget: 1, MaxTarget: 100}
}

const (
	maxCountdownCount = 6
	probeAttempts     = 20_000
	maxParenDepth     = 64
)

func (c CountdownConfig) validate(heldOut float64) error {
	switch {
	case c.MinCount < 2 || c.MinCount > maxCountdownCount:
		return fmt.Errorf("reward: countdown.min_count %d must be in [2, %d]", c.MinCount, maxCountdownCount)
	case c.MaxCount < c.MinCount || c.MaxCount > maxCountdownCount:
		return fmt.Errorf("reward: countdown.max_count %d must be in [min_count %d, %d]", c.MaxCount, c.MinCount, maxCountdownCount)
	case c.MinNumber < 1 || c.MinNumber > 999:
		return fmt.Errorf("reward: countdown.min_number %d must be in [1, 999]", c.MinNumber)
	case c.MaxNumber < c.MinNumber || c.MaxNumber > 999:
		return fmt.Errorf("reward: countdown.max_number %d must be in [min_number %d, 999]", c.MaxNumber, c.MinNumber)
	case c.MinTarget < 1 || c.MinTarget > 999_999:
		return fmt.Errorf("reward: countdown.min_target %d must be in [1, 999999]", c.MinTarget)
	case c.MaxTarget < c.MinTarget || c.MaxTarget > 999_999:
		return fmt.Errorf("reward: countdown.max_target %d must be in [min_target %d, 999999]", c.MaxTarget, c.MinTarget)
	}
	// Probe: the generator must find problems of both splits quickly.
	t := &Countdown{cfg: c, heldOut: heldOut}
	r := rand.New(rand.NewPCG(1, 2))
	var hits [2]int
	var buf draft
	for range probeAttempts {
		if t.draw(r, &buf) {
			hits[SplitOf(problemKey("countdown", buf.nums[:buf.n], buf.target()), heldOut)]++
		}
	}
	if hits[Train] == 0 || hits[HeldOut] == 0 {
		return fmt.Errorf("reward: countdown: targets in [%d, %d] from %d-%d numbers in [%d, %d] gave %d train and %d held-out problems in %d random expressions; widen the ranges",
			c.MinTarget, c.MaxTarget, c.MinCount, c.MaxCount, c.MinNumber, c.MaxNumber, hits[Train], hits[HeldOut], probeAttempts)
	}
	return nil
}

// Countdown asks for an arithmetic expression over the given numbers that
// equals the target (the game from TinyZero, Pan et al. 2025,
// github.com/Jiayi-Pan/TinyZero, examples/data_preprocess/countdown.py and
// verl/utils/reward_score/countdown.py).
//
//	prompt "n1,n2,...>target:"   e.g. "3,7,25>29:"
//	answer an expression         e.g. "25+7-3" (many are correct)
//
// Expressions use non-negative integer literals, + - * /, parentheses and
// spaces, with the usual precedence (* / before + -, left to right); there
// is no unary minus and parentheses nest at most 64 deep. Any such
// expression is well formed (format reward, as TinyZero gives for an
// equation that is wrong or uses other numbers). It is correct when
//
//   - each literal is one of the given numbers, written without leading
//     zeros, and no given number is used more often than it is given
//     (require_all: every given number is used exactly once, as in
//     TinyZero; default: at most once), and
//   - its exact rational value (division is exact, intermediate fractions
//     are fine, as in TinyZero's eval; division by zero is wrong) equals the
//     target.
//
// Generation builds a random expression first, so every target is
// reachable: the numbers are drawn uniformly, random pairs are combined by
// random operators while every intermediate stays a positive integer (the
// classic game's rule, which keeps the canonical answer clean), and the
// result is kept when it lies in [min_target, max_target]. The canonical
// answer is that expression, written with the fewest parentheses and using
// every number.
type Countdown struct {
	cfg     CountdownConfig
	w       weights
	heldOut float64
}

var _ Task = (*Countdown)(nil)

func newCountdown(cfg Config) (Task, error) {
	return &Countdown{cfg: cfg.Countdown, w: cfg.weights(), heldOut: cfg.HeldOutFraction}, nil
}

// Name returns "countdown".
func (*Countdown) Name() string { return "countdown" }

// Generate draws random expressions until one's value is an allowed target
// and its key falls in split. It panics after maxAttempts draws, which
// Validate rules out.
func (t *Countdown) Generate(r *rand.Rand, split Split) Problem {
	var d draft
	for range maxAttempts {
		if !t.draw(r, &d) {
			continue
		}
		p := Problem{
			Task:    "countdown",
			Numbers: append([]int(nil), d.nums[:d.n]...),
			Target:  d.target(),
		}
		if p.Split = SplitOf(p.Key(), t.heldOut); p.Split != split {
			continue
		}
		var b strings.Builder
		for i, n := range p.Numbers {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(n))
		}
		b.WriteByte('>')
		b.WriteString(strconv.Itoa(p.Target))
		b.WriteByte(':')
		p.Prompt = b.String()
		b.Reset()
		d.write(&b, d.root, 0, false)
		p.Answer = b.String()
		return p
	}
	panic(fmt.Sprintf("reward: countdown: no %v problem in %d draws", split, maxAttempts))
}

// draft is one random expression under construction: leaves 0..n-1 are the
// numbers, later nodes combine two earlier ones.
type draft struct {
	nums  [maxCountdownCount]int
	n     int
	nodes [2*maxCountdownCount - 1]exprNode
	root  int
}

type exprNode struct {
	op   byte // 0 for a leaf
	l, r int
	val  int
}

func (d *draft) target() int { return d.nodes[d.root].val }

// draw fills d with a random expression and reports whether every
// intermediate stayed a positive integer and the value is an allowed target.
func (t *Countdown) draw(r *rand.Rand, d *draft) bool {
	c := t.cfg
	d.n = c.MinCount + r.IntN(c.MaxCount-c.MinCount+1)
	var live [maxCountdownCount]int
	for i := range d.n {
		d.nums[i] = c.MinNumber + r.IntN(c.MaxNumber-c.MinNumber+1)
		d.nodes[i] = exprNode{val: d.nums[i]}
		live[i] = i
	}
	nNodes, nLive := d.n, d.n
	for nLive > 1 {
		i := r.IntN(nLive)
		j := r.IntN(nLive - 1)
		if j >= i {
			j++
		}
		li, ri := live[i], live[j]
		a, b := d.nodes[li].val, d.nodes[ri].val
		op := "+-*/"[r.IntN(4)]
		var v int
		switch op {
		case '+':
			v = a + b
		case '*':
			v = a * b
		case '-':
			if a < b {
				li, ri, a, b = ri, li, b, a
			}
			v = a - b
		case '/':
			if a%b != 0 {
				li, ri, a, b = ri, li, b, a
			}
			if a%b != 0 {
				return false
			}
			v = a / b
		}
		if v <= 0 {
			return false
		}
		d.nodes[nNodes] = exprNode{op: op, l: li, r: ri, val: v}
		// Replace the pair by the new node.
		live[min(i, j)] = nNodes
		live[max(i, j)] = live[nLive-1]
		nLive--
		nNodes++
	}
	d.root = live[0]
	v := d.nodes[d.root].val
	return v >= c.MinTarget && v <= c.MaxTarget
}

func precedence(op byte) int {
	switch op {
	case '+', '-':
		return 1
	case '*', '/':
		return 2
	}
	return 3
}

// write prints node i with the fewest parentheses: a child is wrapped when
// it binds more loosely than its parent, or equally loosely on the right of
// - or /.
func (d *draft) write(b *strings.Builder, i int, parentOp byte, right bool) {
	nd := d.nodes[i]
	if nd.op == 0 {
		b.WriteString(strconv.Itoa(nd.val))
		return
	}
	pc, pp := precedence(nd.op), precedence(parentOp)
	paren := parentOp != 0 && (pc < pp || (right && pc == pp && (parentOp == '-' || parentOp == '/')))
	if paren {
		b.WriteByte('(')
	}
	d.write(b, nd.l, nd.op, false)
	b.WriteByte(nd.op)
	d.write(b, nd.r, nd.op, true)
	if paren {
		b.WriteByte(')')
	}
}

// Score parses the completion as an expression and checks its numbers and
// value (see Countdown). It does not allocate.
func (t *Countdown) Score(p Problem, completion string) Score {
	ps := parser{s: Extract(completion), nums: p.Numbers, numsOK: true, evalOK: true}
	v, ok := ps.expr()
	ps.space()
	format := ok && ps.pos == len(ps.s)
	if !format {
		return t.w.score(false, false)
	}
	if t.cfg.RequireAll && (len(p.Numbers) > 64 || bits.OnesCount64(ps.used) != len(p.Numbers)) {
		ps.numsOK = false
	}
	correct := ps.numsOK && ps.evalOK && v.den == 1 && v.num == int64(p.Target)
	return t.w.score(correct, true)
}

// parser is a recursive-descent parser that evaluates as it goes:
//
//	expr   = term { ("+" | "-") term }
//	term   = factor { ("*" | "/") factor }
//	factor = number | "(" expr ")"
//
// with spaces allowed between tokens. A syntax error stops it (the returned
// bool is false); a literal that is not an unused given number clears
// numsOK, a division by zero or an overflow clears evalOK, and parsing goes on.
type parser struct {
	s      string
	pos    int
	depth  int
	nums   []int  // the given numbers
	used   uint64 // bit k: nums[k] is used (numbers past 64 are never usable)
	numsOK bool
	evalOK bool
}

func (p *parser) space() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) expr() (rat, bool) {
	v, ok := p.term()
	if !ok {
		return rat{}, false
	}
	for {
		p.space()
		if p.pos >= len(p.s) || (p.s[p.pos] != '+' && p.s[p.pos] != '-') {
			return v, true
		}
		op := p.s[p.pos]
		p.pos++
		w, ok := p.term()
		if !ok {
			return rat{}, false
		}
		if op == '-' {
			w, ok = w.neg()
			p.evalOK = p.evalOK && ok
		}
		v, ok = v.add(w)
		p.evalOK = p.evalOK && ok
	}
}

func (p *parser) term() (rat, bool) {
	v, ok := p.factor()
	if !ok {
		return rat{}, false
	}
	for {
		p.space()
		if p.pos >= len(p.s) || (p.s[p.pos] != '*' && p.s[p.pos] != '/') {
			return v, true
		}
		op := p.s[p.pos]
		p.pos++
		w, ok := p.factor()
		if !ok {
			return rat{}, false
		}
		if op == '*' {
			v, ok = v.mul(w)
		} else {
			v, ok = v.div(w)
		}
		p.evalOK = p.evalOK && ok
	}
}

func (p *parser) factor() (rat, bool) {
	p.space()
	if p.pos >= len(p.s) {
		return rat{}, false
	}
	if p.s[p.pos] == '(' {
		if p.depth >= maxParenDepth {
			return rat{}, false
		}
		p.depth++
		p.pos++
		v, ok := p.expr()
		if !ok {
			return rat{}, false
		}
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return rat{}, false
		}
		p.pos++
		p.depth--
		return v, true
	}
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	lit := p.s[start:p.pos]
	if lit == "" {
		return rat{}, false
	}
	if len(lit) > 9 { // beyond any given number; keep the value finite
		p.numsOK, p.evalOK = false, false
		return rat{num: 0, den: 1}, true
	}
	n := 0
	for i := 0; i < len(lit); i++ {
		n = n*10 + int(lit[i]-'0')
	}
	if len(lit) > 1 && lit[0] == '0' {
		p.numsOK = false
	} else {
		p.take(n)
	}
	return rat{num: int64(n), den: 1}, true
}

// take marks an unused given number equal to n as used, or clears numsOK.
func (p *parser) take(n int) {
	for k, x := range p.nums {
		if k >= 64 {
			break
		}
		if x == n && p.used&(1<<k) == 0 {
			p.used |= 1 << k
			return
		}
	}
	p.numsOK = false
}

// rat is an exact rational num/den in lowest terms with den > 0. Every
// operation reports false on int64 overflow or division by zero.
type rat struct {
	num, den int64
}

func (a rat) neg() (rat, bool) {
	if a.num == minInt64 {
		return rat{}, false
	}
	return rat{-a.num, a.den}, true
}

func (a rat) add(b rat) (rat, bool) {
	g := gcd(a.den, b.den)
	x, ok1 := mulInt(a.num, b.den/g)
	y, ok2 := mulInt(b.num, a.den/g)
	s, ok3 := addInt(x, y)
	d, ok4 := mulInt(a.den/g, b.den)
	if !(ok1 && ok2 && ok3 && ok4) {
		return rat{}, false
	}
	return normalize(s, d)
}

func (a rat) mul(b rat) (rat, bool) {
	g1 := gcd(abs(a.num), b.den)
	g2 := gcd(abs(b.num), a.den)
	n, ok1 := mulInt(a.num/g1, b.num/g2)
	d, ok2 := mulInt(a.den/g2, b.den/g1)
	if !ok1 || !ok2 {
		return rat{}, false
	}
	return normalize(n, d)
}

func (a rat) div(b rat) (rat, bool) {
	if b.num == 0 || b.num == minInt64 {
		return rat{}, false
	}
	inv := rat{b.den, b.num}
	if inv.den < 0 {
		inv = rat{-inv.num, -inv.den}
	}
	return a.mul(inv)
}

const minInt64 = -1 << 63

func normalize(n, d int64) (rat, bool) {
	if d == 0 || n == minInt64 || d == minInt64 {
		return rat{}, false
	}
	if d < 0 {
		n, d = -n, -d
	}
	if n == 0 {
		return rat{0, 1}, true
	}
	g := gcd(abs(n), d)
	return rat{n / g, d / g}, true
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// gcd of non-negative a, b (gcd(0, 0) = 1 so it can always divide).
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if (a == -1 && b == minInt64) || (b == -1 && a == minInt64) || c/b != a {
		return 0, false
	}
	return c, true
}

func addInt(a, b int64) (int64, bool) {
	c := a + b
	if (a > 0 && b > 0 && c < 0) || (a < 0 && b < 0 && c >= 0) {
		return 0, false
	}
	return c, true
}
