package policy

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kop is the one custom gorgonia Op type of the package: a named kernel with
// a fixed output shape, an owned output buffer that is reused every run (so a
// step allocates nothing), and an optional symbolic backward. Every instance
// hashes uniquely, so gorgonia never merges two of them.
type kop struct {
	name  string
	id    uint64
	in    []hm.Type
	shape tensor.Shape // output shape; empty = float32 scalar
	out   *tensor.Dense
	do    func(out []float32, in []G.Value) error
	wrt   []bool
	diff  func(in G.Nodes, out, grad *G.Node) (G.Nodes, error)
	sc    G.F32 // scalar output value
	// outSel, if set, picks the output buffer for a run (the objective's
	// logits gradient lives in one of two buffers)
	outSel func() *tensor.Dense
}

var kopIDs atomic.Uint64

// apply builds a node of op over inputs; out is the output shape (nil for a
// float32 scalar).
func apply(name string, out tensor.Shape, do func([]float32, []G.Value) error, inputs ...*G.Node) *G.Node {
	op := &kop{name: name, id: kopIDs.Add(1), shape: out, do: do}
	for _, n := range inputs {
		op.in = append(op.in, n.Type())
	}
	if len(out) > 0 {
		op.out = tensor.New(tensor.WithShape(out...), tensor.Of(tensor.Float32))
	}
	return G.Must(G.ApplyOp(op, inputs...))
}

// applyInto is apply with the output written into out (len >= the shape's
// size) instead of a buffer of its own; out == nil is apply.
func applyInto(name string, shape tensor.Shape, out []float32, do func([]float32, []G.Value) error, inputs ...*G.Node) *G.Node {
	if out == nil {
		return apply(name, shape, do, inputs...)
	}
	op := &kop{name: name, id: kopIDs.Add(1), shape: shape, do: do}
	for _, n := range inputs {
		op.in = append(op.in, n.Type())
	}
	op.out = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(out[:shape.TotalSize()]))
	return G.Must(G.ApplyOp(op, inputs...))
}

// withDiff attaches a symbolic backward to the op behind node n.
func withDiff(n *G.Node, wrt []bool, diff func(in G.Nodes, out, grad *G.Node) (G.Nodes, error)) *G.Node {
	op := n.Op().(*kop)
	op.wrt, op.diff = wrt, diff
	return n
}

func (o *kop) Arity() int { return len(o.in) }
func (o *kop) Type() hm.Type {
	ts := append([]hm.Type{}, o.in...)
	if len(o.shape) == 0 {
		ts = append(ts, tensor.Float32)
	} else {
		ts = append(ts, G.TensorType{Dims: len(o.shape), Of: tensor.Float32})
	}
	return hm.NewFnType(ts...)
}
func (o *kop) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if len(o.shape) == 0 {
		return tensor.ScalarShape(), nil
	}
	return o.shape.Clone(), nil
}
func (o *kop) Do(in ...G.Value) (G.Value, error) {
	if len(o.shape) == 0 {
		var v [1]float32
		if err := o.do(v[:], in); err != nil {
			return nil, err
		}
		o.sc = G.F32(v[0])
		return &o.sc, nil
	}
	if o.outSel != nil {
		o.out = o.outSel()
	}
	if err := o.do(o.out.Data().([]float32), in); err != nil {
		return nil, err
	}
	return o.out, nil
}
func (o *kop) ReturnsPtr() bool      { return false }
func (o *kop) CallsExtern() bool     { return false }
func (o *kop) OverwritesInput() int  { return -1 }
func (o *kop) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", o.name, o.id) }
func (o *kop) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *kop) String() string { return o.name }
func (o *kop) DiffWRT(n int) []bool {
	if o.wrt == nil {
		return make([]bool, n)
	}
	return o.wrt
}
func (o *kop) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if o.diff == nil {
		return nil, fmt.Errorf("policy: op %s has no backward", o.name)
	}
	return o.diff(in, out, grad)
}

// f32 is the float32 backing of a gorgonia value.
func f32(v G.Value) []float32 { return v.Data().([]float32) }

var (
	_ G.Op   = (*kop)(nil)
	_ G.SDOp = (*kop)(nil)
)
