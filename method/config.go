package method

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/clip"
	"github.com/entrolab/entrolab/entropy"
	"github.com/entrolab/entrolab/pg"
)

// Config is the algorithm section of a run: which part acts at each phase.
type Config struct {
	Advantage advantage.Config `mapstructure:"advantage"`
	// Loss is the one policy loss: a clip-family name (ppo, ppo_clip_higher,
	// clip_cov, kl_cov, cegppo, hapo, gspo, cispo, sapo, entropy_adv) or
	// steer or aepo (whose pool and controller come with it).
	Loss LossConfig `mapstructure:"loss"`
	// Entropy is the regularizer on the logits: none, bonus, adaptive_bonus, aent, em.
	Entropy entropy.Config `mapstructure:"entropy"`
	KL      KLConfig       `mapstructure:"kl"`
	// TopEntropyQuantile keeps only the top-ρ highest-entropy tokens of each
	// batch in the policy loss ("Beyond the 80/20 rule"); 1 = off, 0.2 = the paper.
	TopEntropyQuantile float64        `mapstructure:"top_entropy_quantile"`
	HAPOTemperature    HAPOTempConfig `mapstructure:"hapo_temperature"`
	// AEPO configures AEPO's pool and temperature controller, which act
	// when loss.name is aepo.
	AEPO entropy.AEPOConfig `mapstructure:"aepo"`
	EMRL EMRLConfig         `mapstructure:"em_rl"`
}

// LossConfig selects the policy loss. Its loss_agg_mode and
// loss_scale_factor (the squashed clip.Agg) aggregate every loss, steer and
// aepo included.
type LossConfig struct {
	clip.Config `mapstructure:",squash"`
	Steer       entropy.SteerConfig    `mapstructure:"steer"` // read only when name is "steer"
	AEPO        entropy.AEPOLossConfig `mapstructure:"aepo"`  // read only when name is "aepo"
}

// KLConfig is the KL regularisation to the frozen base policy.
type KLConfig struct {
	Mode          string `mapstructure:"mode"` // none, loss (actor KL loss) or reward (penalty in the reward)
	clip.KLConfig `mapstructure:",squash"`
}

// HAPOTempConfig switches on HAPO's adaptive per-token sampling temperature.
type HAPOTempConfig struct {
	Enabled                       bool `mapstructure:"enabled"`
	entropy.HAPOTemperatureConfig `mapstructure:",squash"`
}

// EMRLConfig replaces the task reward by EM-RL's entropy reward.
type EMRLConfig struct {
	Enabled          bool `mapstructure:"enabled"`
	entropy.EMConfig `mapstructure:",squash"`
}

// DefaultName is the run name of the default config (DefaultConfig's method).
const DefaultName = "grpo"

// DefaultConfig is GRPO with PPO's clip, no regularizer, no KL.
func DefaultConfig() Config {
	ent := entropy.DefaultConfig()
	ent.Name = "none"
	return Config{
		Advantage:          advantage.DefaultConfig(),
		Loss:               LossConfig{Config: clip.DefaultConfig(), Steer: entropy.DefaultSteerConfig(), AEPO: entropy.DefaultAEPOLossConfig()},
		Entropy:            ent,
		KL:                 KLConfig{Mode: "none", KLConfig: clip.DefaultKLConfig()},
		TopEntropyQuantile: 1,
		HAPOTemperature:    HAPOTempConfig{HAPOTemperatureConfig: entropy.DefaultHAPOTemperatureConfig()},
		AEPO:               entropy.DefaultAEPOConfig(),
		EMRL:               EMRLConfig{EMConfig: entropy.DefaultEMConfig()},
	}
}

// entropyLoss reports whether the loss comes from the entropy family.
func (c LossConfig) entropyLoss() bool { return slices.Contains(entropy.PolicyLossNames(), c.Name) }

// policyConfig is the entropy family's view: its losses aggregate with the
// loss section's mode.
func (c LossConfig) policyConfig() entropy.PolicyConfig {
	pc := entropy.PolicyConfig{Name: c.Name, Steer: c.Steer, AEPO: c.AEPO}
	pc.Steer.Agg = c.Agg
	pc.AEPO.Agg = c.Agg.Mode
	return pc
}

// LossNames lists every policy-loss name, sorted.
func LossNames() []string {
	names := append(clip.Names(), entropy.PolicyLossNames()...)
	slices.Sort(names)
	return names
}

// NewLoss builds the policy loss c names, from whichever family has it.
func NewLoss(c LossConfig) (pg.Loss, error) {
	if c.entropyLoss() {
		if err := c.Agg.Validate(); err != nil {
			return nil, fmt.Errorf("method: %w", err)
		}
		if c.Name == "aepo" && c.Agg.ScaleFactor != 0 {
			return nil, fmt.Errorf("method: aepo: loss_scale_factor %v is not read by aepo's loss (its seq-mean-token-sum-norm divides by the padded width); leave it 0", c.Agg.ScaleFactor)
		}
		return entropy.NewPolicyLoss(c.policyConfig())
	}
	l, err := clip.New(c.Config)
	if errors.Is(err, clip.ErrUnknownName) {
		return nil, fmt.Errorf("method: %w %q (known: %s)", clip.ErrUnknownName, c.Name, strings.Join(LossNames(), ", "))
	}
	return l, err
}

// Validate checks every section the selected parts read, naming the key.
func (c Config) Validate() error {
	if err := c.Advantage.Validate(); err != nil {
		return fmt.Errorf("algorithm.advantage: %w", err)
	}
	if _, err := NewLoss(c.Loss); err != nil {
		return fmt.Errorf("algorithm.loss: %w", err)
	}
	if err := c.Entropy.Validate(); err != nil {
		return fmt.Errorf("algorithm.entropy: %w", err)
	}
	switch c.KL.Mode {
	case "none", "loss", "reward":
	default:
		return fmt.Errorf("trainer: algorithm.kl.mode = %q, want none, loss or reward", c.KL.Mode)
	}
	if err := c.KL.KLConfig.Validate(); err != nil {
		return fmt.Errorf("algorithm.kl: %w", err)
	}
	if !(c.TopEntropyQuantile > 0 && c.TopEntropyQuantile <= 1) {
		return fmt.Errorf("trainer: algorithm.top_entropy_quantile = %v, want in (0, 1] (1 = off)", c.TopEntropyQuantile)
	}
	if c.HAPOTemperature.Enabled {
		if err := c.HAPOTemperature.Validate(); err != nil {
			return fmt.Errorf("algorithm.hapo_temperature: %w", err)
		}
	}
	if c.aepo() {
		if err := c.AEPO.Validate(); err != nil {
			return fmt.Errorf("algorithm.aepo: %w", err)
		}
	}
	if c.EMRL.Enabled {
		if err := c.EMRL.EMConfig.Validate(); err != nil {
			return fmt.Errorf("algorithm.em_rl: %w", err)
		}
	}
	return nil
}

// CheckPrompts checks the sizes the selected parts need of a step with
// prompts prompts.
func (c Config) CheckPrompts(prompts int) error {
	if c.aepo() && prompts < 4 {
		return fmt.Errorf("trainer: algorithm.loss.name aepo needs train.prompts_per_step >= 4 (its pool is the first quarter of the prompts), got %d", prompts)
	}
	return nil
}

// BatchFactor is how many sequences a step samples per regular one, for
// memory estimates: AEPO's pool adds a quarter of the prompts' groups.
func (c Config) BatchFactor() float64 {
	if c.aepo() {
		return 1.25
	}
	return 1
}

// aepo reports whether AEPO's pool and controller act: they come with its loss.
func (c Config) aepo() bool { return c.Loss.Name == "aepo" }
