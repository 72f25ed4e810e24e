package policy

import (
	"github.com/entrolab/entrolab/internal/kern"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layer builders below add one forward op and, through withDiff, its
// backward ops. A backward op takes as graph inputs every forward value it
// reads, so gorgonia's liveness analysis keeps those values intact; state
// that is internal to a layer (LayerNorm statistics, attention
// probabilities) lives in the closure.

func sh(d ...int) tensor.Shape { return tensor.Shape(d) }

// embedNode gathers wte rows by token id and adds the position embedding of
// each row's position (row index mod t). Its gradient with respect to wte
// does not go through gorgonia: it is accumulated into emb, one row per
// distinct token (see embGrad), and Accumulate adds it to the head's.
func embedNode(ids, wte, wpe *G.Node, n, t, d int, emb *embGrad) *G.Node {
	y := apply("embed", sh(n, d), func(o []float32, in []G.Value) error {
		id, te, pe := in[0].Data().([]int), f32(in[1]), f32(in[2])
		for i := 0; i < n; i++ {
			r := o[i*d : i*d+d]
			tok := te[id[i]*d : id[i]*d+d]
			pos := pe[(i%t)*d : (i%t)*d+d]
			for j := range r {
				r[j] = tok[j] + pos[j]
			}
		}
		return nil
	}, ids, wte, wpe)
	pRows := wpe.Shape()[0]
	return withDiff(y, []bool{false, false, true}, func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dte := apply("embed_dwte_rows", nil, func(_ []float32, v []G.Value) error {
			emb.scatter(f32(v[0]), v[1].Data().([]int))
			return nil
		}, grad, in[0])
		// dte as an extra input: the scatter is part of the backward run
		dpe := apply("embed_dwpe", sh(pRows, d), func(o []float32, v []G.Value) error {
			clear(o)
			g := f32(v[0])
			for i := 0; i < n; i++ {
				p := i % t
				axpy(o[p*d:p*d+d], g[i*d:i*d+d])
			}
			return nil
		}, grad, dte)
		return G.Nodes{nil, nil, dpe}, nil
	})
}

// embGrad is a replica's gradient of the token embedding through the
// lookup, kept compact: a row per distinct token of the micro-batch, summed
// over its positions in order, exactly as the dense V x d scatter summed
// them (from zero, position by position). A dense row of a token not in the
// batch is zero, and adding zero changes no accumulated gradient (which is
// never -0), so Accumulate's sum is the one gorgonia's tied-weight sum gave
// (at GPT-2 small: 154 MB less a replica, and no V x d clear and add).
type embGrad struct {
	d    int
	slot []int32   // [V] token -> row of vals; -1 = not in the batch
	ids  []int     // the distinct tokens, in order of first position
	vals []float32 // [min(n, V) * d]
}

func newEmbGrad(v, n, d int) *embGrad {
	e := &embGrad{d: d, slot: make([]int32, v), vals: make([]float32, min(n, v)*d)}
	for i := range e.slot {
		e.slot[i] = -1
	}
	return e
}

func (e *embGrad) scatter(g []float32, id []int) {
	for _, x := range e.ids {
		e.slot[x] = -1
	}
	e.ids = e.ids[:0]
	d := e.d
	for i, x := range id {
		k := e.slot[x]
		if k < 0 {
			k = int32(len(e.ids))
			e.slot[x] = k
			e.ids = append(e.ids, x)
			clear(e.vals[int(k)*d : int(k)*d+d])
		}
		axpy(e.vals[int(k)*d:int(k)*d+d], g[i*d:i*d+d])
	}
}

// addTo does dst[r] += head[r] + e[r] (dst[r] += e[r] without a head
// gradient) for rows [r0, r1), e[r] = 0 for tokens not in the batch.
func (e *embGrad) addTo(dst, head []float32, r0, r1 int) {
	d := e.d
	for r := r0; r < r1; r++ {
		ds := dst[r*d : r*d+d]
		var ev []float32
		if k := e.slot[r]; k >= 0 {
			ev = e.vals[int(k)*d : int(k)*d+d]
		}
		if head == nil {
			if ev != nil {
				axpy(ds, ev)
			}
			continue
		}
		hs := head[r*d : r*d+d]
		if ev == nil {
			for j, x := range hs {
				ds[j] += x + 0 // the dense sum's zero row (x + 0 is not x for x = -0)
			}
			continue
		}
		for j, x := range hs {
			ds[j] += x + ev[j]
		}
	}
}

func axpy(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// lnNode is LayerNorm over the last axis of an n x d input.
func lnNode(x, g, b *G.Node, n, d int) *G.Node {
	mean, rstd := make([]float32, n), make([]float32, n)
	y := apply("layernorm", sh(n, d), func(o []float32, in []G.Value) error {
		kern.LayerNorm(o, f32(in[0]), f32(in[1]), f32(in[2]), mean, rstd, n, d)
		return nil
	}, x, g, b)
	return withDiff(y, []bool{true, true, true}, func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dg, db := make([]float32, d), make([]float32, d)
		dx := apply("layernorm_dx", sh(n, d), func(o []float32, v []G.Value) error {
			clear(dg)
			clear(db)
			kern.LayerNormBackward(o, dg, db, f32(v[0]), f32(v[1]), f32(v[2]), mean, rstd, n, d)
			return nil
		}, grad, in[0], in[1])
		dgn := apply("layernorm_dg", sh(d), func(o []float32, _ []G.Value) error { copy(o, dg); return nil }, dx)
		dbn := apply("layernorm_db", sh(d), func(o []float32, _ []G.Value) error { copy(o, db); return nil }, dx)
		return G.Nodes{dx, dgn, dbn}, nil
	})
}

// linearNode is y = x w + b for x n x in, w in x out. With dxBuf (n*in
// floats, shared by the same layer role across blocks: see bwShared) the
// input gradient is written there, after the weight and bias gradients,
// which read the same incoming gradient.
func linearNode(x, w, b *G.Node, n, in, out int, dxBuf []float32) *G.Node {
	y := apply("linear", sh(n, out), func(o []float32, v []G.Value) error {
		kern.Linear(o, f32(v[0]), f32(v[1]), f32(v[2]), n, in, out)
		return nil
	}, x, w, b)
	return withDiff(y, []bool{true, true, true}, func(nodes G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dxDo := func(o []float32, v []G.Value) error {
			kern.Sgemm(false, true, n, in, out, f32(v[0]), out, f32(v[1]), out, 0, o, in)
			return nil
		}
		dw := apply("linear_dw", sh(in, out), func(o []float32, v []G.Value) error {
			kern.Sgemm(true, false, in, out, n, f32(v[1]), in, f32(v[0]), out, 0, o, out)
			return nil
		}, grad, nodes[0])
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		db := apply("linear_db", sh(out), func(o []float32, v []G.Value) error {
			// column sums as a 1 x n by n x out product: BLAS-fast
			kern.Sgemm(false, false, 1, out, n, ones, n, f32(v[0]), out, 0, o, out)
			return nil
		}, grad)
		var dx *G.Node
		if dxBuf == nil {
			dx = apply("linear_dx", sh(n, in), dxDo, grad, nodes[1])
		} else {
			// dw and db as extra inputs: they run first, so the layer's
			// incoming gradient buffer is read before anything after dx
			dx = applyInto("linear_dx", sh(n, in), dxBuf, dxDo, grad, nodes[1], dw, db)
		}
		return G.Nodes{dx, dw, db}, nil
	})
}

// geluNode is GPT-2's tanh GELU, elementwise. The tanh values the backward
// needs are recomputed there (AVX2 makes that cheaper than keeping an N x 4D
// buffer per layer), into scratch, which all layers of a replica share: the
// ops of one replica run one at a time.
func geluNode(x *G.Node, n, d int, scratch, dxBuf []float32) *G.Node {
	y := apply("gelu", sh(n, d), func(o []float32, v []G.Value) error {
		kern.GELU(o, scratch, f32(v[0]))
		return nil
	}, x)
	return withDiff(y, []bool{true}, func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dx := applyInto("gelu_dx", sh(n, d), dxBuf, func(o []float32, v []G.Value) error {
			x := f32(v[1])
			kern.GELU(o, scratch, x) // o is overwritten just below
			kern.GELUBackward(o, f32(v[0]), scratch, x)
			return nil
		}, grad, in[0])
		return G.Nodes{dx}, nil
	})
}

// addNode is the residual sum a + b.
func addNode(a, b *G.Node, n, d int) *G.Node {
	y := apply("residual_add", sh(n, d), func(o []float32, v []G.Value) error {
		x, y := f32(v[0]), f32(v[1])
		y = y[:len(x)]
		for i := range x {
			o[i] = x[i] + y[i]
		}
		return nil
	}, a, b)
	return withDiff(y, []bool{true, true}, func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		return G.Nodes{grad, grad}, nil
	})
}

// attnNode is causal multi-head self-attention over b sequences of t
// positions; qkv is (b*t) x 3d, the output (b*t) x d.
func attnNode(qkv *G.Node, b, t, d, nh int, dqkvBuf []float32) *G.Node {
	p := make([]float32, b*nh*t*t)
	y := apply("causal_attention", sh(b*t, d), func(o []float32, v []G.Value) error {
		x := f32(v[0])
		for s := 0; s < b; s++ {
			kern.Attention(o[s*t*d:], p[s*nh*t*t:], x[s*t*3*d:], t, d, nh)
		}
		return nil
	}, qkv)
	return withDiff(y, []bool{true}, func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dp := make([]float32, t*t)
		dx := applyInto("causal_attention_dqkv", sh(b*t, 3*d), dqkvBuf, func(o []float32, v []G.Value) error {
			g, x := f32(v[0]), f32(v[1])
			for s := 0; s < b; s++ {
				kern.AttentionBackward(o[s*t*3*d:], g[s*t*d:], p[s*nh*t*t:], x[s*t*3*d:], dp, t, d, nh)
			}
			return nil
		}, grad, in[0])
		return G.Nodes{dx}, nil
	})
}

// lmHeadNode is logits = x W^T for the (tied) embedding W (v x d).
func lmHeadNode(x, w *G.Node, n, d, v int, out []float32) *G.Node {
	y := applyInto("lm_head", sh(n, v), out, func(o []float32, in []G.Value) error {
		kern.Sgemm(false, true, n, v, d, f32(in[0]), d, f32(in[1]), d, 0, o, v)
		return nil
	}, x, w)
	return withDiff(y, []bool{true, true}, func(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		dx := apply("lm_head_dx", sh(n, d), func(o []float32, vs []G.Value) error {
			kern.Sgemm(false, false, n, d, v, f32(vs[0]), v, f32(vs[1]), d, 0, o, d)
			return nil
		}, grad, in[1])
		dw := apply("lm_head_dw", sh(v, d), func(o []float32, vs []G.Value) error {
			kern.Sgemm(true, false, v, d, n, f32(vs[0]), v, f32(vs[1]), d, 0, o, d)
			return nil
		}, grad, in[0])
		return G.Nodes{dx, dw}, nil
	})
}
