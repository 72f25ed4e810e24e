package reward

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

// literals returns the integer literals of an expression, in order.
func literals(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

type scoreCase struct {
	name       string
	completion string
	correct    bool
	format     bool
}

func checkScores(t *testing.T, task Task, p Problem, cases []scoreCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := task.Score(p, tc.completion)
			want := 0.0
			switch {
			case tc.correct:
				want = 1
			case tc.format:
				want = 0.1
			}
			if s.Correct != tc.correct || s.Format != tc.format || s.Reward != want {
				t.Fatalf("Score(%q, %q) = %+v, want correct=%v format=%v reward=%v",
					p.Prompt, tc.completion, s, tc.correct, tc.format, want)
			}
		})
	}
}

// numberCases are completions for a problem whose answer is 357.
var numberCases = []scoreCase{
	{"exact", "357", true, true},
	{"leading_space", " 357", true, true},
	{"trailing_space", "357  ", true, true},
	{"tabs_newline", "\t357\n", true, true},
	{"eos", "357<eos>", true, true},
	{"eos_then_junk", "357<eos>12+1=", true, true},
	{"eos_then_pad", "357 <eos><pad><pad>", true, true},
	{"off_by_one", "356", false, true},
	{"leading_zero", "0357", false, true},
	{"extra_digit", "3570", false, true},
	{"prefix", "35", false, true},
	{"zeros", "000", false, true},
	{"huge", "357357357357357357357357357", false, true},
	{"empty", "", false, false},
	{"spaces", "   ", false, false},
	{"only_eos", "<eos>357", false, false},
	{"inner_space", "3 57", false, false},
	{"plus_sign", "+357", false, false},
	{"minus_sign", "-357", false, false},
	{"trailing_equals", "357=", false, false},
	{"repeat_prompt", "12+345=357", false, false},
	{"decimal", "357.0", false, false},
	{"words", "three hundred", false, false},
	{"broken_eos", "357<eo", false, false},
	{"pad_first", "<pad>357", false, false},
	{"two_numbers", "357 357", false, false},
}

func TestScoreAddition(t *testing.T) {
	task := newTask(t, "addition", nil)
	p := Problem{Task: "addition", Prompt: "12+345=", Answer: "357", Numbers: []int{12, 345}, Target: 357}
	checkScores(t, task, p, numberCases)
}

func TestScoreMultiplication(t *testing.T) {
	task := newTask(t, "multiplication", nil)
	p := Problem{Task: "multiplication", Prompt: "51*7=", Answer: "357", Numbers: []int{51, 7}, Target: 357}
	checkScores(t, task, p, numberCases)
	zero := Problem{Task: "multiplication", Prompt: "23*0=", Answer: "0", Numbers: []int{23, 0}, Target: 0}
	checkScores(t, task, zero, []scoreCase{
		{"zero", "0", true, true},
		{"double_zero", "00", false, true},
		{"operand", "23", false, true},
	})
}

// countdownCases are completions for "3,7,25>29:", with the default
// "at most once" rule.
var countdownCases = []scoreCase{
	{"canonical", "25+7-3", true, true},
	{"reordered", "7+25-3", true, true},
	{"minus_first", "25-3+7", true, true},
	{"parens", "(25+7)-3", true, true},
	{"nested_minus", "25-(3-7)", true, true},
	{"double_parens", "((25))+7-3", true, true},
	{"spaces", " 25 + 7 - 3 ", true, true},
	{"eos", "25+7-3<eos>7", true, true},
	{"wrong_value", "25+7+3", false, true},
	{"precedence", "25+7-3*1", false, true},
	{"unlisted_number", "25+7-3+0", false, true},
	{"reused_number", "25+7-3-3+3", false, true},
	{"leading_zero", "25+7-03", false, true},
	{"product", "25*7", false, true},
	{"single_number", "25", false, true},
	{"huge_literal", "99999999999999999999", false, true},
	{"div_by_zero", "25/(7-7)", false, true},
	{"empty", "", false, false},
	{"dangling_op", "25+", false, false},
	{"unary_plus", "+25+7-3", false, false},
	{"unary_minus", "-3+25+7", false, false},
	{"juxtaposed", "25 7", false, false},
	{"split_literal", "2 5+7-3", false, false},
	{"open_paren", "(25+7-3", false, false},
	{"close_paren", "25+7-3)", false, false},
	{"equation", "25+7-3=29", false, false},
	{"letters", "25x7", false, false},
	{"empty_parens", "()", false, false},
	{"double_op", "25++7", false, false},
	{"answer_only", "29", false, true},
	{"vertical_tab_inside", "25+\v7-3", false, false},
}

func TestScoreCountdown(t *testing.T) {
	task := newTask(t, "countdown", nil)
	p := Problem{Task: "countdown", Prompt: "3,7,25>29:", Numbers: []int{3, 7, 25}, Target: 29}
	checkScores(t, task, p, countdownCases)

	t.Run("fractional_intermediate", func(t *testing.T) {
		p := Problem{Task: "countdown", Numbers: []int{2, 3, 6}, Target: 9}
		checkScores(t, task, p, []scoreCase{
			{"rational", "6/(2/3)", true, true},
			{"left_to_right", "6/2*3", true, true},
			{"not_integer", "6/(2*3)", false, true},
			{"fraction_sum", "3/2+6", false, true},
		})
	})
	t.Run("subset_and_duplicates", func(t *testing.T) {
		p := Problem{Task: "countdown", Numbers: []int{5, 5, 3}, Target: 13}
		checkScores(t, task, p, []scoreCase{
			{"all", "5+5+3", true, true},
			{"duplicate_given_twice", "5*3-5+5-5", false, true},
			{"zero_from_duplicates", "3/(5-5)", false, true},
		})
		q := Problem{Task: "countdown", Numbers: []int{3, 7, 25}, Target: 32}
		checkScores(t, task, q, []scoreCase{{"subset", "25+7", true, true}})
	})
	t.Run("require_all", func(t *testing.T) {
		all := newTask(t, "countdown", func(c *Config) { c.Countdown.RequireAll = true })
		p := Problem{Task: "countdown", Numbers: []int{3, 7, 25}, Target: 32}
		checkScores(t, all, p, []scoreCase{{"subset", "25+7", false, true}})
		q := Problem{Task: "countdown", Numbers: []int{3, 7, 25}, Target: 35}
		checkScores(t, all, q, []scoreCase{{"all", "25+7+3", true, true}})
	})
	t.Run("depth", func(t *testing.T) {
		p := Problem{Task: "countdown", Numbers: []int{25}, Target: 25}
		checkScores(t, task, p, []scoreCase{
			{"depth_64", strings.Repeat("(", 64) + "25" + strings.Repeat(")", 64), true, true},
			{"depth_65", strings.Repeat("(", 65) + "25" + strings.Repeat(")", 65), false, false},
		})
	})
	t.Run("weights", func(t *testing.T) {
		half := newTask(t, "countdown", func(c *Config) { c.CorrectReward, c.FormatReward = 0.5, 0 })
		if s := half.Score(p, "25+7-3"); s.Reward != 0.5 {
			t.Fatalf("Score(correct) reward = %v, want 0.5", s.Reward)
		}
		if s := half.Score(p, "25+7+3"); s.Reward != 0 || !s.Format {
			t.Fatalf("Score(wrong) = %+v, want format with reward 0", s)
		}
	})
}

// slowCountdown is the obvious version of Countdown.Score: tokenize, check
// the token order with a two-state machine, convert to reverse Polish
// notation by shunting-yard and evaluate with math/big.
func slowCountdown(numbers []int, target int, requireAll bool, completion string) (format, correct bool) {
	s := Extract(completion)
	type tok struct {
		kind byte // 'n' number, or the operator / parenthesis itself
		lit  string
	}
	var toks []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, tok{'n', s[i:j]})
			i = j
		case strings.IndexByte("+-*/()", c) >= 0:
			toks = append(toks, tok{kind: c})
			i++
		default:
			return false, false
		}
	}
	operand, depth := true, 0
	for _, t := range toks {
		switch {
		case operand && t.kind == 'n':
			operand = false
		case operand && t.kind == '(':
			if depth == 64 {
				return false, false
			}
			depth++
		case !operand && t.kind == ')':
			if depth == 0 {
				return false, false
			}
			depth--
		case !operand && strings.IndexByte("+-*/", t.kind) >= 0:
			operand = true
		default:
			return false, false
		}
	}
	if operand || depth != 0 {
		return false, false
	}
	// Numbers: no leading zeros, each given number at most once.
	left := append([]int(nil), numbers...)
	if len(left) > 64 {
		left = left[:64]
	}
	numsOK, used := true, 0
	for _, t := range toks {
		if t.kind != 'n' {
			continue
		}
		n, err := strconv.Atoi(t.lit)
		if err != nil || len(t.lit) > 9 || (len(t.lit) > 1 && t.lit[0] == '0') {
			numsOK = false
			continue
		}
		found := false
		for k, x := range left {
			if x == n && x >= 0 {
				left[k], found = -1, true
				break
			}
		}
		if !found {
			numsOK = false
		} else {
			used++
		}
	}
	if requireAll && used != len(numbers) {
		numsOK = false
	}
	// Shunting-yard.
	prec := map[byte]int{'+': 1, '-': 1, '*': 2, '/': 2}
	var out, ops []tok
	for _, t := range toks {
		switch t.kind {
		case 'n':
			out = append(out, t)
		case '(':
			ops = append(ops, t)
		case ')':
			for ops[len(ops)-1].kind != '(' {
				out, ops = append(out, ops[len(ops)-1]), ops[:len(ops)-1]
			}
			ops = ops[:len(ops)-1]
		default:
			for len(ops) > 0 && ops[len(ops)-1].kind != '(' && prec[ops[len(ops)-1].kind] >= prec[t.kind] {
				out, ops = append(out, ops[len(ops)-1]), ops[:len(ops)-1]
			}
			ops = append(ops, t)
		}
	}
	for len(ops) > 0 {
		out, ops = append(out, ops[len(ops)-1]), ops[:len(ops)-1]
	}
	var st []*big.Rat
	for _, t := range out {
		if t.kind == 'n' {
			v, _ := new(big.Rat).SetString(t.lit)
			st = append(st, v)
			continue
		}
		a, b := st[len(st)-2], st[len(st)-1]
		st = st[:len(st)-2]
		v := new(big.Rat)
		switch t.kind {
		case '+':
			v.Add(a, b)
		case '-':
			v.Sub(a, b)
		case '*':
			v.Mul(a, b)
		case '/':
			if b.Sign() == 0 {
				return true, false
			}
			v.Quo(a, b)
		}
		st = append(st, v)
	}
	return true, numsOK && st[0].Cmp(new(big.Rat).SetInt64(int64(target))) == 0
}

// randomExpr writes a random string over the expression alphabet, biased
// towards the given numbers, so that many strings parse and some are right.
func randomExpr(r *rand.Rand, numbers []int) string {
	var b strings.Builder
	for range 1 + r.IntN(12) {
		switch k := r.IntN(10); {
		case k < 4:
			b.WriteString(itoa(numbers[r.IntN(len(numbers))]))
		case k < 7:
			b.WriteByte("+-*/"[r.IntN(4)])
		case k < 9:
			b.WriteByte("() "[r.IntN(3)])
		default:
			b.WriteByte("0123456789"[r.IntN(10)])
		}
	}
	return b.String()
}

func TestCountdownMatchesSlow(t *testing.T) {
	for _, requireAll := range []bool{false, true} {
		task := newTask(t, "countdown", func(c *Config) { c.Countdown.RequireAll = requireAll })
		r := rand.New(rand.NewPCG(12, 13))
		nCorrect := 0
		for i := range 60_000 {
			p := task.Generate(r, Split(i%2))
			var c string
			if i%4 == 0 {
				c = p.Answer
				if j := r.IntN(len(c) + 1); r.IntN(2) == 0 { // mutate one place
					c = c[:j] + string("0123456789+-*/() "[r.IntN(17)]) + c[j:]
				}
			} else {
				c = randomExpr(r, p.Numbers)
			}
			s := task.Score(p, c)
			format, correct := slowCountdown(p.Numbers, p.Target, requireAll, c)
			if s.Format != format || s.Correct != correct {
				t.Fatalf("Score(%v>%d, %q) = %+v, slow version says format=%v correct=%v",
					p.Numbers, p.Target, c, s, format, correct)
			}
			if correct {
				nCorrect++
			}
		}
		if nCorrect < 300 {
			t.Fatalf("only %d correct completions among the random ones; the comparison is too weak", nCorrect)
		}
	}
}

func TestScoreCountdownDoesNotAllocate(t *testing.T) {
	task := newTask(t, "countdown", nil)
	p := Problem{Numbers: []int{3, 7, 25}, Target: 29}
	if n := testing.AllocsPerRun(100, func() { task.Score(p, " (25+7)-3 <eos>") }); n != 0 {
		t.Fatalf("Score allocates %v times per call", n)
	}
}
