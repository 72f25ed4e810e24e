package entropy

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/entrolab/entrolab/pg"
	"slices"
	"strings"
)

// ErrUnknownName is returned (wrapped) by New and NewPolicyLoss for a name
// that is not registered.
var ErrUnknownName = errors.New("unknown")

// Needs lists the optional Input fields a regularizer reads. The trainer
// checks it once, when it is built.
type Needs struct {
	Actions bool // Input.Actions [B][T]: sampled token ids
}

// Input is what every regularizer gets.
type Input struct {
	Logits      [][][]float64 // [B][T][V] raw LM-head logits
	Mask        [][]float64   // [B][T] 0/1 response mask; padded positions get a zero gradient
	Temperature float64       // τ > 0: entropies are those of softmax(Logits/τ)
	Actions     [][]int       // [B][T] sampled tokens; read only when Needs().Actions
}

// Output is what a regularizer returns.
type Output struct {
	Loss    float64            // scalar term to add to the loss being minimised
	Grad    [][][]float64      // [B][T][V] ∂Loss/∂Logits (the dst passed in, or a new one if it was nil or short)
	Metrics map[string]float64 // family/quantity keys
}

// Regularizer is an entropy term acting on the whole next-token distribution.
// Implementations keep scratch buffers between calls and are not safe for
// concurrent use. Shape mismatches between Logits and Mask panic.
type Regularizer interface {
	Needs() Needs
	Regularize(dst [][][]float64, in Input) (Output, error)
}

// Tunable is implemented by regularizers whose coefficient a CoefController
// sets once per optimizer step.
type Tunable interface {
	SetCoef(c float64)
}

// Config selects and configures a regularizer.
type Config struct {
	Name     string             `mapstructure:"name"`     // none, bonus, adaptive_bonus, aent, em
	Bonus    BonusConfig        `mapstructure:"bonus"`    // read when Name is "bonus" or "adaptive_bonus"
	Adaptive AdaptiveCoefConfig `mapstructure:"adaptive"` // read when Name is "adaptive_bonus"
	AEnt     AEntConfig         `mapstructure:"aent"`     // read when Name is "aent"
	EM       EMConfig           `mapstructure:"em"`       // read when Name is "em"
}

// DefaultConfig is "none" with every method's defaults filled in.
func DefaultConfig() Config {
	return Config{
		Name:     "none",
		Bonus:    DefaultBonusConfig(),
		Adaptive: DefaultAdaptiveCoefConfig(),
		AEnt:     DefaultAEntConfig(),
		EM:       DefaultEMConfig(),
	}
}

// Validate checks the name and the sub-config that name reads.
func (c Config) Validate() error {
	switch c.Name {
	case "bonus":
		return c.Bonus.Validate()
	case "adaptive_bonus":
		if err := c.Bonus.Validate(); err != nil {
			return err
		}
		return c.Adaptive.Validate()
	case "aent":
		return c.AEnt.Validate()
	case "em":
		return c.EM.Validate()
	}
	if _, ok := regularizers[c.Name]; !ok {
		return fmt.Errorf("entropy: %w regularizer %q (known: %s)", ErrUnknownName, c.Name, strings.Join(Names(), ", "))
	}
	return nil
}

var regularizers = map[string]func(Config) (Regularizer, error){
	"none":           newNone,
	"bonus":          newBonus,
	"adaptive_bonus": newAdaptiveBonus,
	"aent":           newClamped,
	"em":             newEMFT,
}

// New validates cfg and builds the regularizer it names.
func New(cfg Config) (Regularizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return regularizers[cfg.Name](cfg)
}

// Register adds an experimental regularizer. It panics if name is taken.
func Register(name string, ctor func(Config) (Regularizer, error)) {
	if _, ok := regularizers[name]; ok {
		panic(fmt.Sprintf("entropy: regularizer %q already registered", name))
	}
	regularizers[name] = ctor
}

// Names lists the registered regularizers, sorted.
func Names() []string {
	names := make([]string, 0, len(regularizers))
	for n := range regularizers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CoefController drives a regularizer's coefficient from the entropy it
// measures. Per optimizer step the trainer calls SetCoef(Coef()) on the
// Tunable regularizer, runs the step, accumulates the metric pair named by
// Metric over the step's micro-batches (see Window) and calls Update once.
type CoefController interface {
	Coef() float64                          // coefficient for this step's loss
	Metric() (mean, tokens string)          // metric keys: window token-mean and its token count
	Update(windowEntropy float64, step int) // once per optimizer step; step is the 0-based global step
	SaveState() (json.RawMessage, error)    // the state a checkpoint keeps
	LoadState(json.RawMessage) error        // restores SaveState's output
}

// NewCoefController builds the controller that cfg's regularizer needs:
// *AdaptiveCoef for "adaptive_bonus", *AEntCoef for "aent" with
// adaptive_coeff on, and nil for the rest.
func NewCoefController(cfg Config) (CoefController, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch cfg.Name {
	case "adaptive_bonus":
		return NewAdaptiveCoef(cfg.Adaptive), nil
	case "aent":
		if cfg.AEnt.AdaptiveCoeff {
			return NewAEntCoef(cfg.AEnt), nil
		}
	}
	return nil, nil
}

// Window accumulates a token-mean over the micro-batches of one optimizer
// step, weighting each by its token count.
type Window struct{ sum, n float64 }

// Add folds in one micro-batch's token-mean and token count.
func (w *Window) Add(mean, tokens float64) {
	w.sum += mean * tokens
	w.n += tokens
}

// Mean is the window's token-mean (0 if it holds no token).
func (w *Window) Mean() float64 {
	if w.n == 0 {
		return 0
	}
	return w.sum / w.n
}

// Reset empties the window.
func (w *Window) Reset() { *w = Window{} }

// PolicyLoss is the one policy-loss interface, pg.Loss: STEER and AEPO's
// actor loss get the same pg.Input as the clip family's losses.
type PolicyLoss = pg.Loss

// PolicyConfig selects and configures a logp-family loss.
type PolicyConfig struct {
	Name  string         `mapstructure:"name"`  // steer, aepo
	Steer SteerConfig    `mapstructure:"steer"` // read when Name is "steer"
	AEPO  AEPOLossConfig `mapstructure:"aepo"`  // read when Name is "aepo"
}

// DefaultPolicyConfig is "steer" with run_linear.sh's settings.
func DefaultPolicyConfig() PolicyConfig {
	return PolicyConfig{Name: "steer", Steer: DefaultSteerConfig(), AEPO: DefaultAEPOLossConfig()}
}

// Validate checks the name and the sub-config it reads.
func (c PolicyConfig) Validate() error {
	switch c.Name {
	case "steer":
		return c.Steer.Validate()
	case "aepo":
		return c.AEPO.Validate()
	}
	if _, ok := policyLosses[c.Name]; !ok {
		return fmt.Errorf("entropy: %w policy loss %q (known: %s)", ErrUnknownName, c.Name, strings.Join(PolicyLossNames(), ", "))
	}
	return nil
}

var policyLosses = map[string]func(PolicyConfig) (PolicyLoss, error){
	"steer": newSteer,
	"aepo":  newAEPOLoss,
}

// NewPolicyLoss validates cfg and builds the loss it names.
func NewPolicyLoss(cfg PolicyConfig) (PolicyLoss, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return policyLosses[cfg.Name](cfg)
}

// RegisterPolicyLoss adds an experimental logp-family loss. It panics if name
// is taken.
func RegisterPolicyLoss(name string, ctor func(PolicyConfig) (PolicyLoss, error)) {
	if _, ok := policyLosses[name]; ok {
		panic(fmt.Sprintf("entropy: policy loss %q already registered", name))
	}
	policyLosses[name] = ctor
}

// PolicyLossNames lists the registered logp-family losses, sorted.
func PolicyLossNames() []string {
	names := make([]string, 0, len(policyLosses))
	for n := range policyLosses {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// None is the "none" regularizer: zero loss and a zeroed gradient.
type None struct{}

var _ Regularizer = None{}

func newNone(Config) (Regularizer, error) { return None{}, nil }

// Needs reads nothing optional.
func (None) Needs() Needs { return Needs{} }

// Regularize zeroes dst and reports the loss 0.
func (None) Regularize(dst [][][]float64, in Input) (Output, error) {
	checkLogits(in.Logits, in.Mask)
	dst = ensure3(dst, in.Logits)
	for _, rows := range dst {
		for _, row := range rows {
			clear(row)
		}
	}
	return Output{Grad: dst, Metrics: map[string]float64{"entropy/loss": 0}}, nil
}

func checkTemperature(tau float64) error {
	if !(tau > 0) || tau > 1e300 {
		return fmt.Errorf("entropy: temperature %v must be positive and finite", tau)
	}
	return nil
}
