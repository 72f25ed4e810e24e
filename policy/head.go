package policy

import (
	"errors"
	"github.com/entrolab/entrolab/internal/kern"
	"math"
	"sync"
	"sync/atomic"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// HeadInput is what an Objective receives for one micro-batch: the head's
// outputs for all N = B*T rows, whichever replica computed them.
type HeadInput struct {
	B, T, V     int
	Temperature float64   // logits are divided by it before the softmax
	Targets     []int32   // [N] the token each row predicts; -1 = none
	Logits      []float32 // [N*V] raw logits (read-only)
	Logp        []float64 // [N] log softmax(logits/τ)[target]; 0 where no target
	Entropy     []float64 // [N] entropy of softmax(logits/τ)
	Micro       int       // index of the micro-batch within the step
}

// HeadGrad receives the objective's gradient. Both slices are zero on entry;
// an objective fills the one it differentiates with respect to (or both).
type HeadGrad struct {
	Logp   []float64 // [N] dLoss/dLogp
	Logits []float32 // [N*V] dLoss/dLogits (raw, untempered logits)
}

// Objective is the per-micro-batch loss: a plain function of the head's
// outputs returning the loss value (to minimise), its gradient (into g) and
// metrics. It runs once per micro-batch, between the forward and the backward
// pass of the same graph run.
type Objective func(in *HeadInput, g *HeadGrad) (loss float64, metrics map[string]float64, err error)

// errAborted is what the other replicas report when one fails.
var errAborted = errors.New("policy: replica aborted")

// head is the objective head shared by the replicas of one training graph.
// Each replica computes log-probs and entropies of its own rows, meets the
// others at a barrier, replica 0 calls the objective on the whole
// micro-batch, and each replica then writes the logits gradient of its rows.
type head struct {
	n, v    int
	rows    [][2]int // replica -> [row0, row1)
	in      HeadInput
	grad    HeadGrad
	lse     []float64 // [N] log-sum-exp of logits/τ
	dlogits []float32 // [N*V] = grad.Logits
	obj     Objective
	// inPlace: this run's objective left grad.Logits all zero, so the
	// logits gradient is written over the logits themselves (no longer
	// needed by then) and grad.Logits stays untouched: at GPT-2 small its
	// 412 MB are never made resident by a log-prob-only objective. dirty:
	// grad.Logits holds something other than zeros.
	inPlace, dirty     bool
	outLogits, outGrad []*tensor.Dense // [replica] the two buffers as the backward op's output

	loss    float64
	metrics map[string]float64
	err     error

	arrive  sync.WaitGroup
	arrived []atomic.Bool
	done    chan struct{}
	once    sync.Once
}

func newHead(b, t, v int, rows [][2]int) *head {
	n := b * t
	h := &head{n: n, v: v, rows: rows, lse: make([]float64, n)}
	h.in = HeadInput{B: b, T: t, V: v, Targets: make([]int32, n), Logits: make([]float32, n*v),
		Logp: make([]float64, n), Entropy: make([]float64, n)}
	h.grad = HeadGrad{Logp: make([]float64, n), Logits: make([]float32, n*v)}
	// The logits gradient is built in place over the objective's (which is
	// cleared before each objective call and not read after backward), and
	// the backward op scales it in place too: one N x V buffer instead of
	// three (at GPT-2 small, B8 T256: 412 MB each).
	h.dlogits = h.grad.Logits
	for _, r := range rows {
		sh := tensor.Shape{r[1] - r[0], v}
		h.outLogits = append(h.outLogits, tensor.New(tensor.WithShape(sh...), tensor.WithBacking(h.in.Logits[r[0]*v:r[1]*v])))
		h.outGrad = append(h.outGrad, tensor.New(tensor.WithShape(sh...), tensor.WithBacking(h.grad.Logits[r[0]*v:r[1]*v])))
	}
	h.arrived = make([]atomic.Bool, len(rows))
	return h
}

// begin readies the barrier for one run.
func (h *head) begin(temp float64, obj Objective, micro int) {
	h.in.Temperature, h.in.Micro, h.obj = temp, micro, obj
	h.loss, h.metrics, h.err = 0, nil, nil
	h.arrive.Add(len(h.rows))
	for i := range h.arrived {
		h.arrived[i].Store(false)
	}
	h.done = make(chan struct{})
	h.once = sync.Once{}
}

// fail releases the barrier when replica r stops before reaching it.
func (h *head) fail(r int, err error) {
	if !h.arrived[r].Swap(true) {
		h.arrive.Done()
	}
	if r == 0 {
		h.once.Do(func() {
			if h.err == nil {
				h.err = err
			}
			close(h.done)
		})
	}
}

// stats computes log-probs, entropies and log-sum-exps of rows [r0, r1).
func (h *head) stats(r0, r1 int) {
	v := h.v
	inv := 1 / h.in.Temperature
	for i := r0; i < r1; i++ {
		lp, ent, lse := kern.RowStats(h.in.Logits[i*v:i*v+v], inv, h.in.Targets[i])
		h.in.Logp[i], h.in.Entropy[i], h.lse[i] = lp, ent, lse
	}
}

// backward writes the logits gradient of rows [r0, r1):
//
//	dL/dz_v = gLogits_v + gLogp * (1[v = y] - p_v) / τ
func (h *head) backward(r0, r1 int) {
	v := h.v
	inv := 1 / h.in.Temperature
	for i := r0; i < r1; i++ {
		gl := h.grad.Logp[i]
		y := h.in.Targets[i]
		if h.inPlace {
			// grad.Logits is zero: d = 0 - c p, over the logits row
			d := h.in.Logits[i*v : i*v+v]
			if gl == 0 || y < 0 {
				clear(d)
				continue
			}
			c := gl * inv
			kern.ZeroSubExpScaled(d, d, inv, h.lse[i], c)
			d[y] += float32(c)
			continue
		}
		d := h.dlogits[i*v : i*v+v] // = h.grad.Logits: updated in place
		if gl == 0 || y < 0 {
			continue
		}
		c := gl * inv
		kern.SubExpScaled(d, h.in.Logits[i*v:i*v+v], inv, h.lse[i], c)
		d[y] += float32(c)
	}
}

// node builds replica r's loss node (a float32 scalar) over its logits node,
// whose output buffer is h.in.Logits[rows r].
func (h *head) node(r int, logits *G.Node) *G.Node {
	r0, r1 := h.rows[r][0], h.rows[r][1]
	loss := apply("objective", nil, func(o []float32, _ []G.Value) error {
		h.stats(r0, r1)
		h.arrived[r].Store(true)
		h.arrive.Done()
		if r == 0 {
			h.arrive.Wait()
			h.once.Do(func() {
				h.runObjective()
				close(h.done)
			})
		} else {
			<-h.done
		}
		if h.err != nil {
			if r != 0 {
				return errAborted
			}
			return h.err
		}
		h.backward(r0, r1)
		o[0] = float32(h.loss)
		return nil
	}, logits)
	return withDiff(loss, []bool{true}, func(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
		// Its output is rows [r0, r1) of h.dlogits itself, scaled in place
		// by the loss's incoming gradient (1 from G.Grad: x*1 == x, skipped).
		d := applyInto("objective_dlogits", sh(r1-r0, h.v), h.dlogits[r0*h.v:r1*h.v], func(o []float32, v []G.Value) error {
			// o is whichever buffer backward wrote (outSel below)
			s := float32(1)
			if sv, ok := v[0].(*G.F32); ok {
				s = float32(*sv)
			}
			if s != 1 {
				for i, x := range o {
					o[i] = x * s
				}
			}
			return nil
		}, grad)
		d.Op().(*kop).outSel = func() *tensor.Dense {
			if h.inPlace {
				return h.outLogits[r]
			}
			return h.outGrad[r]
		}
		return G.Nodes{d}, nil
	})
}

func (h *head) runObjective() {
	if h.err != nil {
		return
	}
	clear(h.grad.Logp)
	if h.dirty {
		clear(h.grad.Logits)
		h.dirty = false
	}
	loss, m, err := h.obj(&h.in, &h.grad)
	h.inPlace = allZeroBits(h.grad.Logits)
	h.dirty = !h.inPlace
	if err == nil && (math.IsNaN(loss) || math.IsInf(loss, 0)) {
		err = &NonFiniteError{What: "loss", Value: loss}
	}
	h.loss, h.metrics, h.err = loss, m, err
}

// allZeroBits reports whether every x is +0 (a -0 counts as written).
func allZeroBits(x []float32) bool {
	for _, v := range x {
		if math.Float32bits(v) != 0 {
			return false
		}
	}
	return true
}
