package reward

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Split names the side of the train / held-out partition a problem is on.
type Split int

const (
	Train   Split = iota // problems the policy is trained on
	HeldOut              // problems only evaluated; disjoint from Train
)

func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case HeldOut:
		return "held_out"
	}
	return "split(" + strconv.Itoa(int(s)) + ")"
}

// Problem is one generated problem.
type Problem struct {
	Task    string // name of the task that made it
	Prompt  string // text the policy continues, e.g. "12+345="
	Answer  string // one canonical correct completion (the SFT target), e.g. "357"
	Numbers []int  // operands [a b] (addition, multiplication) or the given numbers (countdown)
	Target  int    // the value a correct answer equals
	Split   Split  // the side of the partition Key hashes to

	// Dataset problems (task "dataset") also carry these.
	ID         string          // the line's "id" ("" when it has none)
	Source     string          // where it was read, "data/train.jsonl:12"
	Extra      json.RawMessage // the line's other fields as one JSON object (nil when none)
	Options    []string        // the line's "options" (choice verifier)
	hasNumbers bool            // Numbers and Target came from the line
}

// Key is the canonical identity of a problem, the string its split is
// decided by: the task, the sorted numbers and the target, e.g.
// "addition:12,345>357". Problems that differ only in operand order share
// a key.
func (p Problem) Key() string {
	return problemKey(p.Task, p.Numbers, p.Target)
}

func problemKey(task string, numbers []int, target int) string {
	sorted := slices.Clone(numbers)
	slices.Sort(sorted)
	var b strings.Builder
	b.WriteString(task)
	b.WriteByte(':')
	for i, n := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteByte('>')
	b.WriteString(strconv.Itoa(target))
	return b.String()
}

// Score is the verdict on one completion.
type Score struct {
	Reward  float64 // in [0, 1]: correct_reward, format_reward or 0 (a reward command: any finite number)
	Correct bool    // the answer is right (implies Format)
	Format  bool    // the completion is well formed: a number, or an expression
	// Metrics are extra per-completion numbers (from a reward command's
	// reply); the trainer records their batch means as reward/<name>.
	Metrics map[string]float64
}

// Task generates problems and scores completions for one kind of problem.
type Task interface {
	// Name is the registry name, e.g. "addition".
	Name() string
	// Generate draws one problem of the given split from r. The same
	// sequence of draws from r gives the same problem.
	Generate(r *rand.Rand, split Split) Problem
	// Score checks completion against p. It never panics, whatever the
	// string, and its Reward is always in [0, 1].
	Score(p Problem, completion string) Score
}

// weights turns a verdict into a reward.
type weights struct {
	correct float64
	format  float64
}

func (w weights) score(correct, format bool) Score {
	switch {
	case correct:
		return Score{Reward: w.correct, Correct: true, Format: true}
	case format:
		return Score{Reward: w.format, Format: true}
	}
	return Score{}
}

// Extract returns the part of a completion that is scored: the text before
// the first "<eos>" (all of it when there is none), without surrounding
// whitespace.
func Extract(completion string) string {
	if i := strings.Index(completion, "<eos>"); i >= 0 {
		completion = completion[:i]
	}
	return strings.TrimSpace(completion)
}

// SplitOf returns the split of the problem with the given key: HeldOut when
// the key's hash, read as a number in [0, 1), is below heldOutFraction.
// The hash is FNV-1a 64 followed by the splitmix64 finalizer, so nearby keys
// scatter.
func SplitOf(key string, heldOutFraction float64) Split {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	if float64(h>>11)/(1<<53) < heldOutFraction {
		return HeldOut
	}
	return Train
}

// maxAttempts bounds the rejection loops of the generators. A validated
// config accepts far more often than this: Validate rejects configs whose
// problem space leaves a split empty or whose countdown targets are rarely
// reachable.
const maxAttempts = 10_000_000

// Config selects and configures a task.
type Config struct {
	Name            string               `mapstructure:"name"`              // addition, countdown or multiplication; default "countdown"
	HeldOutFraction float64              `mapstructure:"held_out_fraction"` // share of problem keys held out, in (0, 1); default 0.1
	CorrectReward   float64              `mapstructure:"correct_reward"`    // reward of a correct answer, in (0, 1]; default 1.0
	FormatReward    float64              `mapstructure:"format_reward"`     // reward of a well-formed wrong answer, in [0, correct_reward]; default 0.1 (TinyZero)
	Addition        AdditionConfig       `mapstructure:"addition"`          // read only when Name is "addition"
	Multiplication  MultiplicationConfig `mapstructure:"multiplication"`    // read only when Name is "multiplication"
	Countdown       CountdownConfig      `mapstructure:"countdown"`         // read only when Name is "countdown"

	// The dataset task (Name "dataset"): the user's own JSONL files. These
	// keys are refused for the other tasks. Paths in an experiment file are
	// relative to it (configs makes them absolute).
	Train        string           `mapstructure:"train" json:",omitzero"`         // training JSONL file; required
	Test         string           `mapstructure:"test" json:",omitzero"`          // held-out JSONL file; required
	Tokenizer    string           `mapstructure:"tokenizer" json:",omitzero"`     // tokenizer.json for a new base; "" = one character-level token per character of the training data
	AllowOverlap bool             `mapstructure:"allow_overlap" json:",omitzero"` // accept test prompts that also occur in train (reported, not refused); default false
	Verifier     string           `mapstructure:"verifier" json:",omitzero"`      // exact, numeric, choice, regex or expression; "" = exact
	Numeric      NumericConfig    `mapstructure:"numeric" json:",omitzero"`       // numeric verifier (and regex then: numeric)
	Choice       ChoiceConfig     `mapstructure:"choice" json:",omitzero"`        // choice verifier
	Regex        RegexConfig      `mapstructure:"regex" json:",omitzero"`         // regex verifier
	Expression   ExpressionConfig `mapstructure:"expression" json:",omitzero"`    // expression verifier
}

// DefaultConfig returns the countdown task with TinyZero's weights (1.0
// correct, 0.1 format) and every task's defaults filled in.
func DefaultConfig() Config {
	return Config{
		Name:            "countdown",
		HeldOutFraction: 0.1,
		CorrectReward:   1.0,
		FormatReward:    0.1,
		Addition:        DefaultAdditionConfig(),
		Multiplication:  DefaultMultiplicationConfig(),
		Countdown:       DefaultCountdownConfig(),
		Choice:          ChoiceConfig{Options: []string{}},
	}
}

// Validate checks the shared fields and the selected task's section, naming
// the key, the value and what is allowed.
func (c Config) Validate() error {
	if err := c.validateWeights(); err != nil {
		return err
	}
	if c.Name != "dataset" {
		if err := c.refuseDatasetKeys(); err != nil {
			return err
		}
	}
	switch c.Name {
	case "dataset":
		return c.validateDataset()
	case "addition":
		return c.Addition.validate(c.HeldOutFraction)
	case "multiplication":
		return c.Multiplication.validate(c.HeldOutFraction)
	case "countdown":
		return c.Countdown.validate(c.HeldOutFraction)
	}
	if _, ok := lookup(c.Name); !ok {
		return unknownName(c.Name)
	}
	return nil
}

func (c Config) validateWeights() error {
	if !(c.HeldOutFraction > 0 && c.HeldOutFraction < 1) {
		return fmt.Errorf("reward: held_out_fraction %v must be in (0, 1)", c.HeldOutFraction)
	}
	if !(c.CorrectReward > 0 && c.CorrectReward <= 1) {
		return fmt.Errorf("reward: correct_reward %v must be in (0, 1]", c.CorrectReward)
	}
	if !(c.FormatReward >= 0 && c.FormatReward <= c.CorrectReward) {
		return fmt.Errorf("reward: format_reward %v must be in [0, correct_reward %v]", c.FormatReward, c.CorrectReward)
	}
	return nil
}

func (c Config) weights() weights {
	return weights{correct: c.CorrectReward, format: c.FormatReward}
}
