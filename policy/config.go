package policy

import "fmt"

// Config describes the network. Field names follow GPT-2's config.json where
// one exists.
type Config struct {
	Vocab     int     `json:"vocab_size" mapstructure:"vocab"`           // V
	DModel    int     `json:"n_embd" mapstructure:"d_model"`             // D
	NLayers   int     `json:"n_layer" mapstructure:"n_layers"`           // L
	NHeads    int     `json:"n_head" mapstructure:"n_heads"`             // H; must divide D
	MaxSeqLen int     `json:"n_positions" mapstructure:"max_seq_len"`    // rows of the position embedding
	InitStd   float64 `json:"initializer_range" mapstructure:"init_std"` // N(0, std) init; residual projections get std/sqrt(2L)
	Seed      uint64  `json:"seed" mapstructure:"seed"`                  // weight init seed
	Untied    bool    `json:"untied_lm_head" mapstructure:"untied"`      // separate lm_head.weight instead of wte
}

// DefaultConfig is the S benchmark config.
func DefaultConfig() Config { return ConfigS() }

// ConfigS is the S benchmark shape: V64 D128 L4 H4, 64 positions.
func ConfigS() Config {
	return Config{Vocab: 64, DModel: 128, NLayers: 4, NHeads: 4, MaxSeqLen: 64, InitStd: 0.02, Seed: 1}
}

// ConfigM is the M benchmark shape: V64 D256 L6 H8, 128 positions.
func ConfigM() Config {
	return Config{Vocab: 64, DModel: 256, NLayers: 6, NHeads: 8, MaxSeqLen: 128, InitStd: 0.02, Seed: 1}
}

// Upper limits of a network Config: GPT-2 XL (V 50257, D 1600, L 48, 1024
// positions) fits well inside them; a damaged or hostile config.json
// (n_positions 2^40) is refused before anything is allocated.
const (
	MaxVocab     = 1 << 20
	MaxDModel    = 1 << 14
	MaxLayers    = 1024
	MaxSeqLen    = 1 << 16
	MaxNumParams = 1 << 33 // 8G weights, 32 GiB of float32
)

// ConfigGPT2Small is GPT-2 small's shape (V50257 D768 L12 H12) with a
// 256-row position table: the GPT-2-scale benchmark config (random
// weights; 124M parameters, tied head).
func ConfigGPT2Small() Config {
	return Config{Vocab: 50257, DModel: 768, NLayers: 12, NHeads: 12, MaxSeqLen: 256, InitStd: 0.02, Seed: 1}
}

// Validate reports the first out-of-range field, naming it.
func (c Config) Validate() error {
	switch {
	case c.Vocab > MaxVocab:
		return fmt.Errorf("policy: vocab = %d exceeds its upper limit %d", c.Vocab, MaxVocab)
	case c.DModel > MaxDModel:
		return fmt.Errorf("policy: d_model = %d exceeds its upper limit %d", c.DModel, MaxDModel)
	case c.NLayers > MaxLayers:
		return fmt.Errorf("policy: n_layers = %d exceeds its upper limit %d", c.NLayers, MaxLayers)
	case c.MaxSeqLen > MaxSeqLen:
		return fmt.Errorf("policy: max_seq_len = %d exceeds its upper limit %d", c.MaxSeqLen, MaxSeqLen)
	}
	switch {
	case c.Vocab < 2:
		return fmt.Errorf("policy: vocab = %d, want >= 2", c.Vocab)
	case c.DModel < 1:
		return fmt.Errorf("policy: d_model = %d, want >= 1", c.DModel)
	case c.NLayers < 1:
		return fmt.Errorf("policy: n_layers = %d, want >= 1", c.NLayers)
	case c.NHeads < 1 || c.DModel%c.NHeads != 0:
		return fmt.Errorf("policy: n_heads = %d must be >= 1 and divide d_model = %d", c.NHeads, c.DModel)
	case c.MaxSeqLen < 1:
		return fmt.Errorf("policy: max_seq_len = %d, want >= 1", c.MaxSeqLen)
	case !(c.InitStd > 0 && c.InitStd < 1):
		return fmt.Errorf("policy: init_std = %v, want in (0, 1)", c.InitStd)
	}
	if n := c.NumParams(); n > MaxNumParams {
		return fmt.Errorf("policy: the network has %d weights, more than the upper limit %d", n, MaxNumParams)
	}
	return nil
}

// NumParams is the number of weights.
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.paramSpecs() {
		n += s.size()
	}
	return n
}
