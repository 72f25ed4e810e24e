package policy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// paramSpec names one weight tensor (HuggingFace GPT-2 names) and its shape.
type paramSpec struct {
	name  string
	shape []int
	init  byte    // 'n' normal, '1' ones, '0' zeros
	std   float64 // for 'n'
	decay bool    // AdamW weight decay applies (matrices, not biases or LN)
}

func (s paramSpec) size() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

func (c Config) paramSpecs() []paramSpec {
	d, v := c.DModel, c.Vocab
	std := c.InitStd
	proj := std / math.Sqrt(2*float64(c.NLayers))
	s := []paramSpec{
		{"transformer.wte.weight", []int{v, d}, 'n', std, true},
		{"transformer.wpe.weight", []int{c.MaxSeqLen, d}, 'n', std / 2, true},
	}
	for l := 0; l < c.NLayers; l++ {
		p := fmt.Sprintf("transformer.h.%d.", l)
		s = append(s,
			paramSpec{p + "ln_1.weight", []int{d}, '1', 0, false},
			paramSpec{p + "ln_1.bias", []int{d}, '0', 0, false},
			paramSpec{p + "attn.c_attn.weight", []int{d, 3 * d}, 'n', std, true},
			paramSpec{p + "attn.c_attn.bias", []int{3 * d}, '0', 0, false},
			paramSpec{p + "attn.c_proj.weight", []int{d, d}, 'n', proj, true},
			paramSpec{p + "attn.c_proj.bias", []int{d}, '0', 0, false},
			paramSpec{p + "ln_2.weight", []int{d}, '1', 0, false},
			paramSpec{p + "ln_2.bias", []int{d}, '0', 0, false},
			paramSpec{p + "mlp.c_fc.weight", []int{d, 4 * d}, 'n', std, true},
			paramSpec{p + "mlp.c_fc.bias", []int{4 * d}, '0', 0, false},
			paramSpec{p + "mlp.c_proj.weight", []int{4 * d, d}, 'n', proj, true},
			paramSpec{p + "mlp.c_proj.bias", []int{d}, '0', 0, false},
		)
	}
	s = append(s,
		paramSpec{"transformer.ln_f.weight", []int{d}, '1', 0, false},
		paramSpec{"transformer.ln_f.bias", []int{d}, '0', 0, false},
	)
	if c.Untied {
		s = append(s, paramSpec{"lm_head.weight", []int{v, d}, 'n', std, true})
	}
	return s
}

// Param is one named weight tensor. Data is the tensor's backing array: the
// training graph, the optimizer, the rollout engine and checkpoints all read
// and write it in place.
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	T     *tensor.Dense // wraps Data
	Decay bool
}

// Block holds one transformer layer's weights.
type Block struct {
	LN1W, LN1B, AttnW, AttnB, ProjW, ProjB *Param
	LN2W, LN2B, FcW, FcB, Fc2W, Fc2B       *Param
}

// Weights is the whole network's parameter set, in a fixed order.
type Weights struct {
	Cfg    Config
	List   []*Param // checkpoint and optimizer order
	byName map[string]*Param
	Wte    *Param
	Wpe    *Param
	Blocks []Block
	LNfW   *Param
	LNfB   *Param
	Head   *Param // Wte when tied
}

// NewWeights allocates the weights of cfg, initialised from cfg.Seed.
func NewWeights(cfg Config) (*Weights, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := newEmptyWeights(cfg)
	r := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	for i, s := range cfg.paramSpecs() {
		p := w.List[i]
		switch s.init {
		case 'n':
			for j := range p.Data {
				p.Data[j] = float32(r.NormFloat64() * s.std)
			}
		case '1':
			for j := range p.Data {
				p.Data[j] = 1
			}
		}
	}
	return w, nil
}

func newEmptyWeights(cfg Config) *Weights {
	w := &Weights{Cfg: cfg, byName: map[string]*Param{}}
	for _, s := range cfg.paramSpecs() {
		data := make([]float32, s.size())
		p := &Param{Name: s.name, Shape: s.shape, Data: data, Decay: s.decay,
			T: tensor.New(tensor.WithShape(s.shape...), tensor.WithBacking(data))}
		w.List = append(w.List, p)
		w.byName[s.name] = p
	}
	g := func(n string) *Param { return w.byName[n] }
	w.Wte, w.Wpe = g("transformer.wte.weight"), g("transformer.wpe.weight")
	for l := 0; l < cfg.NLayers; l++ {
		p := fmt.Sprintf("transformer.h.%d.", l)
		w.Blocks = append(w.Blocks, Block{
			LN1W: g(p + "ln_1.weight"), LN1B: g(p + "ln_1.bias"),
			AttnW: g(p + "attn.c_attn.weight"), AttnB: g(p + "attn.c_attn.bias"),
			ProjW: g(p + "attn.c_proj.weight"), ProjB: g(p + "attn.c_proj.bias"),
			LN2W: g(p + "ln_2.weight"), LN2B: g(p + "ln_2.bias"),
			FcW: g(p + "mlp.c_fc.weight"), FcB: g(p + "mlp.c_fc.bias"),
			Fc2W: g(p + "mlp.c_proj.weight"), Fc2B: g(p + "mlp.c_proj.bias"),
		})
	}
	w.LNfW, w.LNfB = g("transformer.ln_f.weight"), g("transformer.ln_f.bias")
	w.Head = w.Wte
	if cfg.Untied {
		w.Head = g("lm_head.weight")
	}
	return w
}

// Param returns the weight called name, or nil.
func (w *Weights) Param(name string) *Param { return w.byName[name] }

// CopyFrom copies every weight of src (same config) into w.
func (w *Weights) CopyFrom(src *Weights) {
	for i, p := range w.List {
		copy(p.Data, src.List[i].Data)
	}
}

// Clone returns a deep copy (a frozen reference policy, for example).
func (w *Weights) Clone() *Weights {
	c := newEmptyWeights(w.Cfg)
	c.CopyFrom(w)
	return c
}
