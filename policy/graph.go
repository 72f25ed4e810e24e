package policy

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// replica is one gorgonia graph over rows [row0, row0+b*t) of a micro-batch.
type replica struct {
	g      *G.ExprGraph
	ids    *G.Node
	idsT   *tensor.Dense // refilled in place and Let each run
	params G.Nodes       // parallel to Weights.List
	grads  G.Nodes       // parallel to params; nil in a forward-only graph; the untied wte's entry nil (emb holds it)
	emb    *embGrad      // the token embedding's lookup gradient; nil in a forward-only graph
	logits *G.Node
	vm     G.VM
	b      int
}

// graph is the set of replicas for one (B, T) shape.
type graph struct {
	b, t    int
	bytes   int64  // estimated memory (graphEstimate)
	lastUse uint64 // Model.uses at its last use
	reps    []*replica
	head    *head // nil in a forward-only graph
	fwd     []float32
}

// splitRows divides b sequences over at most r replicas.
func splitRows(b, r int) []int {
	if r > b {
		r = b
	}
	out := make([]int, r)
	for i := range out {
		out[i] = b / r
		if i < b%r {
			out[i]++
		}
	}
	return out
}

// buildGraph builds the replicas for shape (b, t); train adds the objective
// head and the backward pass.
func buildGraph(w *Weights, b, t, nrep int, train bool) (*graph, error) {
	cfg := w.Cfg
	if t > cfg.MaxSeqLen {
		return nil, fmt.Errorf("policy: sequence length %d exceeds max_seq_len %d", t, cfg.MaxSeqLen)
	}
	if b < 1 || t < 1 {
		return nil, fmt.Errorf("policy: batch shape %dx%d must be positive", b, t)
	}
	gr := &graph{b: b, t: t}
	parts := splitRows(b, nrep)
	var rows [][2]int
	row := 0
	for _, pb := range parts {
		rows = append(rows, [2]int{row, row + pb*t})
		row += pb * t
	}
	if train {
		gr.head = newHead(b, t, cfg.Vocab, rows)
	} else {
		gr.fwd = make([]float32, b*t*cfg.Vocab)
	}
	for r, pb := range parts {
		rep, err := buildReplica(w, gr, r, pb, rows[r][0])
		if err != nil {
			return nil, err
		}
		gr.reps = append(gr.reps, rep)
	}
	return gr, nil
}

func buildReplica(w *Weights, gr *graph, r, b, row0 int) (rep *replica, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("policy: building graph: %v", e)
		}
	}()
	cfg := w.Cfg
	t, d, v := gr.t, cfg.DModel, cfg.Vocab
	n := b * t
	g := G.NewGraph()
	rep = &replica{g: g, b: b}
	rep.idsT = tensor.New(tensor.WithShape(n), tensor.Of(tensor.Int))
	rep.ids = G.NewVector(g, tensor.Int, G.WithShape(n), G.WithName("ids"), G.WithValue(rep.idsT))
	pn := map[*Param]*G.Node{}
	for _, p := range w.List {
		node := G.NewTensor(g, tensor.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithValue(p.T))
		pn[p] = node
		rep.params = append(rep.params, node)
	}
	if gr.head != nil {
		rep.emb = newEmbGrad(v, n, d)
	}
	x := embedNode(rep.ids, pn[w.Wte], pn[w.Wpe], n, t, d, rep.emb)
	geluScratch := make([]float32, n*4*d)
	var bw bwShared
	if gr.head != nil {
		bw = newBwShared(n, d)
	}
	for _, blk := range w.Blocks {
		h := lnNode(x, pn[blk.LN1W], pn[blk.LN1B], n, d)
		qkv := linearNode(h, pn[blk.AttnW], pn[blk.AttnB], n, d, 3*d, bw.qkvDx)
		a := attnNode(qkv, b, t, d, cfg.NHeads, bw.dqkv)
		a = linearNode(a, pn[blk.ProjW], pn[blk.ProjB], n, d, d, bw.projDx)
		x = addNode(x, a, n, d)
		h = lnNode(x, pn[blk.LN2W], pn[blk.LN2B], n, d)
		h = linearNode(h, pn[blk.FcW], pn[blk.FcB], n, d, 4*d, bw.fcDx)
		h = geluNode(h, n, 4*d, geluScratch, bw.geluDx)
		h = linearNode(h, pn[blk.Fc2W], pn[blk.Fc2B], n, 4*d, d, bw.fc2Dx)
		x = addNode(x, h, n, d)
	}
	x = lnNode(x, pn[w.LNfW], pn[w.LNfB], n, d)
	var out []float32
	if gr.head != nil {
		out = gr.head.in.Logits[row0*v:]
	} else {
		out = gr.fwd[row0*v:]
	}
	rep.logits = lmHeadNode(x, pn[w.Head], n, d, v, out)
	if gr.head == nil {
		rep.vm = newMachine(g)
		return rep, nil
	}
	loss := gr.head.node(r, rep.logits)
	// Untied, nothing but the lookup reads wte, and its gradient is emb's.
	var wrt G.Nodes
	for i, p := range w.List {
		if p != w.Wte || w.Head == w.Wte {
			wrt = append(wrt, rep.params[i])
		}
	}
	gs, err := G.Grad(loss, wrt...)
	if err != nil {
		return nil, fmt.Errorf("policy: building backward: %w", err)
	}
	rep.grads = make(G.Nodes, len(w.List))
	k := 0
	for i, p := range w.List {
		if p != w.Wte || w.Head == w.Wte {
			rep.grads[i] = gs[k]
			k++
		}
	}
	rep.vm = newMachine(g)
	return rep, nil
}

// newMachine is G.NewTapeMachine without its finalizer. gorgonia sets one
// on every tape machine (a no-op without the cuda build tag), and our ops
// close over the replica that holds the machine: a cycle through an object
// with a finalizer is never collected in Go, so every finished model's
// graphs, buffers and weights stayed in memory for the life of the process
// (a sweep of 60 cells in one process grew to 11.5 GB).
func newMachine(g *G.ExprGraph) G.VM {
	m := G.NewTapeMachine(g)
	runtime.SetFinalizer(m, nil)
	return m
}

// bwShared holds the backward buffers that every block of a replica
// shares, one per role: the input gradients of the four linears, of GELU and
// of attention. Each is read only by the next op of the backward chain
// through the same block (linearNode makes its dx wait for its dw and db, the
// other readers of the incoming gradient), and the next block down writes
// it only after the chain has passed through that block's residual sum,
// which depends on every read. So the values are the ones separate buffers
// hold, with 14 n x d floats a replica instead of 14 per block (GPT-2 small
// at B8 T256: ~1 GB less). Not shared: the LayerNorm input gradients, which
// gorgonia's residual gradient sums may overwrite in place and which then
// live on into the block below, and every parameter gradient.
type bwShared struct {
	qkvDx, dqkv, projDx, fcDx, geluDx, fc2Dx []float32
}

func newBwShared(n, d int) bwShared {
	return bwShared{
		qkvDx: make([]float32, n*d), dqkv: make([]float32, n*3*d), projDx: make([]float32, n*d),
		fcDx: make([]float32, n*d), geluDx: make([]float32, n*4*d), fc2Dx: make([]float32, n*4*d),
	}
}

// run executes every replica concurrently on rows of ids ([B*T]).
func (gr *graph) run(ids []int32) error {
	var wg sync.WaitGroup
	errs := make([]error, len(gr.reps))
	row := 0
	for r, rep := range gr.reps {
		dst := rep.idsT.Data().([]int)
		for i := range dst {
			dst[i] = int(ids[row+i])
		}
		row += len(dst)
		wg.Add(1)
		go func(r int, rep *replica) {
			defer wg.Done()
			rep.vm.Reset()
			if err := G.Let(rep.ids, rep.idsT); err != nil {
				errs[r] = err
			} else if err := rep.vm.RunAll(); err != nil {
				errs[r] = err
			}
			if errs[r] != nil && gr.head != nil {
				gr.head.fail(r, errs[r])
			}
		}(r, rep)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, errAborted) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
