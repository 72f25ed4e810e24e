package reward

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Verifier names, for task.verifier (a dataset task's scorer).
var verifierNames = []string{"choice", "exact", "expression", "numeric", "regex"}

// NumericConfig configures the numeric verifier (and regex's numeric mode).
type NumericConfig struct {
	Tolerance float64 `mapstructure:"tolerance" json:",omitzero"` // absolute tolerance, >= 0; default 0 (equal values)
	Relative  float64 `mapstructure:"relative" json:",omitzero"`  // relative tolerance (of |answer|), >= 0; default 0
}

// ChoiceConfig configures the choice verifier.
type ChoiceConfig struct {
	// Options are the allowed answers for every line; empty: each line's own
	// "options" field (a list of strings).
	Options []string `mapstructure:"options" json:",omitempty"`
	// IgnoreCase compares options without regard to letter case; default false.
	IgnoreCase bool `mapstructure:"ignore_case" json:",omitzero"`
}

// IsZero reports whether c has no settings (for json's omitzero: an empty
// Options list, which DefaultConfig sets so that a YAML round trip of [] is
// exact, counts as none).
func (c ChoiceConfig) IsZero() bool { return len(c.Options) == 0 && !c.IgnoreCase }

// RegexConfig configures the regex verifier.
type RegexConfig struct {
	// Pattern (Go RE2 syntax) finds the answer in the completion: the group
	// named "answer" when there is one, else the first group, else the whole
	// match; the first match counts. Required.
	Pattern string `mapstructure:"pattern" json:",omitzero"`
	// Then compares the extracted text with the answer: exact or numeric
	// (with task.numeric's tolerances); default exact.
	Then string `mapstructure:"then" json:",omitzero"`
}

// ExpressionConfig configures the expression verifier (countdown for any data).
type ExpressionConfig struct {
	// RequireAll: every given number exactly once; false (default): at most once.
	RequireAll bool `mapstructure:"require_all" json:",omitzero"`
}

// verifier decides one extracted completion (Extract's output) against a
// problem. check rejects a problem the verifier cannot judge (an answer
// that is not a number for numeric), so bad data fails at load time.
type verifier interface {
	verify(p Problem, s string) (correct, format bool)
	check(p *Problem) error
}

func newVerifier(c Config) (verifier, error) {
	switch c.Verifier {
	case "", "exact":
		return exactVerifier{}, nil
	case "numeric":
		return numericVerifier{c.Numeric}, nil
	case "choice":
		return choiceVerifier{c.Choice}, nil
	case "regex":
		re, err := regexp.Compile(c.Regex.Pattern)
		if err != nil {
			return nil, err
		}
		group := 0
		if re.NumSubexp() > 0 {
			group = 1
		}
		if i := re.SubexpIndex("answer"); i > 0 {
			group = i
		}
		var then verifier = exactVerifier{}
		if c.Regex.Then == "numeric" {
			then = numericVerifier{c.Numeric}
		}
		return regexVerifier{re: re, group: group, then: then}, nil
	case "expression":
		return expressionVerifier{c.Expression}, nil
	}
	return nil, fmt.Errorf("reward: task.verifier %q is not known (known: %s)", c.Verifier, strings.Join(verifierNames, ", "))
}

// inactiveVerifierKey names a verifier section that is set although the
// selected verifier does not read it ("" when none is).
func (c Config) inactiveVerifierKey() string {
	v := c.Verifier
	if v == "" {
		v = "exact"
	}
	switch {
	case c.Numeric != (NumericConfig{}) && v != "numeric" && !(v == "regex" && c.Regex.Then == "numeric"):
		return "numeric"
	case !c.Choice.IsZero() && v != "choice":
		return "choice"
	case c.Regex != (RegexConfig{}) && v != "regex":
		return "regex"
	case c.Expression != (ExpressionConfig{}) && v != "expression":
		return "expression"
	}
	return ""
}

func (c Config) validateVerifier() error {
	if c.Verifier != "" && !slices.Contains(verifierNames, c.Verifier) {
		return fmt.Errorf("reward: task.verifier %q is not known (known: %s)", c.Verifier, strings.Join(verifierNames, ", "))
	}
	n := c.Numeric
	if !(n.Tolerance >= 0) || math.IsInf(n.Tolerance, 0) || !(n.Relative >= 0) || math.IsInf(n.Relative, 0) {
		return fmt.Errorf("reward: task.numeric.tolerance %v and task.numeric.relative %v must be finite and >= 0", n.Tolerance, n.Relative)
	}
	for i, o := range c.Choice.Options {
		if strings.TrimSpace(o) != o || o == "" {
			return fmt.Errorf("reward: task.choice.options[%d] %q must be non-empty without surrounding spaces", i, o)
		}
	}
	if c.Verifier == "regex" {
		if c.Regex.Pattern == "" {
			return fmt.Errorf("reward: task.regex.pattern is empty; the regex verifier needs one")
		}
		if _, err := regexp.Compile(c.Regex.Pattern); err != nil {
			return fmt.Errorf("reward: task.regex.pattern %q: %v", c.Regex.Pattern, err)
		}
	}
	switch c.Regex.Then {
	case "", "exact", "numeric":
	default:
		return fmt.Errorf("reward: task.regex.then %q must be exact or numeric", c.Regex.Then)
	}
	if k := c.inactiveVerifierKey(); k != "" {
		v := c.Verifier
		if v == "" {
			v = "exact (the default)"
		}
		return fmt.Errorf("reward: task.%s is set, but task.verifier %s does not read it", k, v)
	}
	return nil
}

// exactVerifier: correct when the completion equals the answer (both
// trimmed); any non-empty completion is well formed.
type exactVerifier struct{}

func (exactVerifier) verify(p Problem, s string) (bool, bool) {
	return s != "" && s == strings.TrimSpace(p.Answer), s != ""
}

func (exactVerifier) check(p *Problem) error { return nil }

// numericVerifier: well formed when the completion is a decimal number
// (strconv.ParseFloat syntax, finite); correct when
//
//	|x - answer| <= max(tolerance, relative * |answer|)
type numericVerifier struct{ c NumericConfig }

func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ { // no "inf", "nan", hex or underscores
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

func (v numericVerifier) verify(p Problem, s string) (bool, bool) {
	x, ok := parseNumber(s)
	if !ok {
		return false, false
	}
	a, ok := parseNumber(strings.TrimSpace(p.Answer))
	if !ok {
		return false, true
	}
	return math.Abs(x-a) <= math.Max(v.c.Tolerance, v.c.Relative*math.Abs(a)), true
}

func (numericVerifier) check(p *Problem) error {
	if _, ok := parseNumber(strings.TrimSpace(p.Answer)); !ok {
		return fmt.Errorf("answer %q is not a number (the numeric verifier needs one)", p.Answer)
	}
	return nil
}

// choiceVerifier: well formed when the completion is one of the options
// (task.choice.options, or the line's "options" field); correct when it is
// the answer.
type choiceVerifier struct{ c ChoiceConfig }

func (v choiceVerifier) options(p Problem) []string {
	if len(v.c.Options) > 0 {
		return v.c.Options
	}
	return p.Options
}

func (v choiceVerifier) same(a, b string) bool {
	if v.c.IgnoreCase {
		return strings.EqualFold(a, b)
	}
	return a == b
}

func (v choiceVerifier) verify(p Problem, s string) (bool, bool) {
	for _, o := range v.options(p) {
		if v.same(s, o) {
			return v.same(s, strings.TrimSpace(p.Answer)), true
		}
	}
	return false, false
}

func (v choiceVerifier) check(p *Problem) error {
	opts := v.options(*p)
	if len(opts) == 0 {
		return fmt.Errorf(`no options: set task.choice.options or give the line an "options" list`)
	}
	a := strings.TrimSpace(p.Answer)
	for _, o := range opts {
		if v.same(a, o) {
			return nil
		}
	}
	return fmt.Errorf("answer %q is not one of the options %q", p.Answer, opts)
}

// regexVerifier: well formed when the pattern matches; the extracted text
// is then judged by exact or numeric.
type regexVerifier struct {
	re    *regexp.Regexp
	group int
	then  verifier
}

func (v regexVerifier) verify(p Problem, s string) (bool, bool) {
	m := v.re.FindStringSubmatchIndex(s)
	if m == nil || m[2*v.group] < 0 {
		return false, false
	}
	got := strings.TrimSpace(s[m[2*v.group]:m[2*v.group+1]])
	correct, _ := v.then.verify(p, got)
	return correct, true
}

func (v regexVerifier) check(p *Problem) error { return v.then.check(p) }

// expressionVerifier is Countdown's scoring on any data: the line gives
// "numbers" (a list of non-negative integers) and "target" (an integer);
// any arithmetic expression is well formed, and it is correct when it uses
// only the given numbers (each at most once, or exactly once with
// require_all) and its exact value is the target.
type expressionVerifier struct{ c ExpressionConfig }

func (v expressionVerifier) verify(p Problem, s string) (bool, bool) {
	ps := parser{s: s, nums: p.Numbers, numsOK: true, evalOK: true}
	val, ok := ps.expr()
	ps.space()
	if !ok || ps.pos != len(ps.s) {
		return false, false
	}
	if v.c.RequireAll && (len(p.Numbers) > 64 || bits.OnesCount64(ps.used) != len(p.Numbers)) {
		ps.numsOK = false
	}
	return ps.numsOK && ps.evalOK && val.den == 1 && val.num == int64(p.Target), true
}

func (expressionVerifier) check(p *Problem) error {
	if !p.hasNumbers {
		return fmt.Errorf(`the expression verifier needs "numbers" (a list of integers) and "target" (an integer)`)
	}
	if len(p.Numbers) == 0 || len(p.Numbers) > 64 {
		return fmt.Errorf(`"numbers" has %d entries, want 1 to 64`, len(p.Numbers))
	}
	for _, n := range p.Numbers {
		if n < 0 || n > 999_999_999 {
			return fmt.Errorf(`"numbers" entry %d must be in [0, 999999999]`, n)
		}
	}
	return nil
}

// readNumbers fills p.Numbers and p.Target from a line's "numbers" and
// "target" fields when both are there.
func readNumbers(p *Problem, fields map[string]json.RawMessage) error {
	rn, okN := fields["numbers"]
	rt, okT := fields["target"]
	if !okN || !okT {
		return nil
	}
	var nums []int
	if err := json.Unmarshal(rn, &nums); err != nil {
		return fmt.Errorf(`"numbers" must be a list of integers: %v`, err)
	}
	var target int
	if err := json.Unmarshal(rt, &target); err != nil {
		return fmt.Errorf(`"target" must be an integer: %v`, err)
	}
	p.Numbers, p.Target, p.hasNumbers = nums, target, true
	return nil
}
