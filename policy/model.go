package policy

import (
	"fmt"
	"github.com/entrolab/entrolab/internal/kern"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/entrolab/entrolab/internal/oblas"
	G "gorgonia.org/gorgonia"

	// gorgonia v0.9.18 panics at start on Go 1.26 through an old indirect
	// dependency unless this newer version is required.
	_ "go4.org/unsafe/assume-no-moving-gc"
)

func init() {
	// gorgonia's own matmuls (none in the hot path) use the same BLAS.
	G.Use(oblas.Implementation{})
}

// Batch is one micro-batch of B right-padded sequences of T positions.
// Row b, position t holds input token Tokens[b*T+t]; Targets[b*T+t] is the
// token that position predicts, or -1 where nothing is predicted (prompt and
// padding). Causal attention means padding after a sequence never affects it.
type Batch struct {
	B, T    int
	Tokens  []int32 // [B*T]
	Targets []int32 // [B*T]
}

// NewBatch allocates an all-padding batch.
func NewBatch(b, t int) *Batch {
	bt := &Batch{B: b, T: t, Tokens: make([]int32, b*t), Targets: make([]int32, b*t)}
	for i := range bt.Targets {
		bt.Targets[i] = -1
	}
	return bt
}

// SetRow puts seq (at most T+1 tokens) into row b: inputs seq[:T], and
// targets seq[i+1] for every i+1 >= from (the first predicted index, e.g.
// the prompt length). Positions past the sequence get pad and no target.
func (bt *Batch) SetRow(b int, seq []int32, from int, pad int32) error {
	if b < 0 || b >= bt.B {
		return fmt.Errorf("policy: batch row %d out of range [0, %d)", b, bt.B)
	}
	if len(seq) > bt.T+1 {
		return fmt.Errorf("policy: sequence of %d tokens does not fit %d positions", len(seq), bt.T)
	}
	tok := bt.Tokens[b*bt.T : (b+1)*bt.T]
	tgt := bt.Targets[b*bt.T : (b+1)*bt.T]
	for i := range tok {
		tok[i], tgt[i] = pad, -1
		if i < len(seq) {
			tok[i] = seq[i]
		}
		if i+1 < len(seq) && i+1 >= from {
			tgt[i] = seq[i+1]
		}
	}
	return nil
}

func (bt *Batch) validate(v int) error {
	if bt.B < 1 || bt.T < 1 || len(bt.Tokens) != bt.B*bt.T || len(bt.Targets) != bt.B*bt.T {
		return fmt.Errorf("policy: batch shape %dx%d does not match %d tokens and %d targets", bt.B, bt.T, len(bt.Tokens), len(bt.Targets))
	}
	for i, x := range bt.Tokens {
		if x < 0 || int(x) >= v {
			return fmt.Errorf("policy: token %d at row %d position %d is outside the vocabulary [0, %d)", x, i/bt.T, i%bt.T, v)
		}
	}
	for i, x := range bt.Targets {
		if x < -1 || int(x) >= v {
			return fmt.Errorf("policy: target %d at row %d position %d is outside [-1, %d)", x, i/bt.T, i%bt.T, v)
		}
	}
	return nil
}

// Model is a policy: weights, accumulated gradients, and the graphs built so
// far (one per batch shape, reused every call).
type Model struct {
	W        *Weights
	Grads    [][]float32 // parallel to W.List; summed over Accumulate calls
	Replicas int         // graph replicas run concurrently; default GOMAXPROCS

	mu    sync.Mutex
	train map[[2]int]*graph
	fwd   map[[2]int]*graph
	micro int
	// graph cache bookkeeping: every cached graph's estimated bytes, and
	// a use counter for least-recently-used eviction
	graphBytes int64
	uses       uint64
}

// GraphBudget bounds the estimated memory of the graphs a Model keeps
// cached (training and forward-only together). Each batch shape gets its
// own graph, which owns all its buffers: at the project's sizes a graph is
// a few hundred MB and many fit; at GPT-2 small one training graph alone
// is ~4 GB, and a trainer whose batches change length every step (T rounds
// up to a multiple of 8) would otherwise keep one per shape. Beyond the
// budget the least recently used graphs are dropped (never the one being
// used) and rebuilt when needed again; a rebuilt graph computes exactly
// what the dropped one did. The default is a third of the machine's memory,
// at least 4 GiB.
var GraphBudget = defaultGraphBudget()

func defaultGraphBudget() int64 {
	const floor = 4 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return floor
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return max(floor, kb<<10/3)
			}
		}
	}
	return floor
}

// graphEstimate is the approximate memory of a graph for shape (b, t):
// logits (and in training their gradient), activations, and in training
// each replica's parameter gradients.
func graphEstimate(cfg Config, b, t, replicas int, train bool) int64 {
	n, d, l, nh := int64(b*t), int64(cfg.DModel), int64(cfg.NLayers), int64(cfg.NHeads)
	f := n*int64(cfg.Vocab) + n*d*10*l + int64(b)*nh*int64(t)*int64(t)*l
	if train {
		f += n*int64(cfg.Vocab) + n*d*12*l + int64(replicas)*int64(cfg.NumParams())
	}
	return 4 * f
}

// New returns a freshly initialised model.
func New(cfg Config) (*Model, error) {
	w, err := NewWeights(cfg)
	if err != nil {
		return nil, err
	}
	return FromWeights(w), nil
}

// FromWeights wraps existing weights (which the model then updates in place).
func FromWeights(w *Weights) *Model {
	m := &Model{W: w, Replicas: runtime.GOMAXPROCS(0), train: map[[2]int]*graph{}, fwd: map[[2]int]*graph{}}
	for _, p := range w.List {
		m.Grads = append(m.Grads, make([]float32, len(p.Data)))
	}
	return m
}

// Cfg is the network config.
func (m *Model) Cfg() Config { return m.W.Cfg }

func (m *Model) graphFor(cache map[[2]int]*graph, b, t int, train bool) (*graph, error) {
	k := [2]int{b, t}
	m.uses++
	if g, ok := cache[k]; ok {
		g.lastUse = m.uses
		return g, nil
	}
	r := m.Replicas
	if r < 1 {
		r = 1
	}
	est := graphEstimate(m.W.Cfg, b, t, r, train)
	if m.evict(est) {
		runtime.GC() // so the new graph reuses the dropped graphs' memory instead of growing the heap
	}
	g, err := buildGraph(m.W, b, t, r, train)
	if err != nil {
		return nil, err
	}
	g.bytes, g.lastUse = est, m.uses
	cache[k] = g
	m.graphBytes += est
	return g, nil
}

// evict drops least recently used graphs until need more bytes fit in
// GraphBudget (or none is left) and reports whether it dropped any.
func (m *Model) evict(need int64) bool {
	dropped := false
	for m.graphBytes+need > GraphBudget {
		var oc map[[2]int]*graph
		var ok [2]int
		var old *graph
		for _, c := range []map[[2]int]*graph{m.train, m.fwd} {
			for k, g := range c {
				if old == nil || g.lastUse < old.lastUse {
					oc, ok, old = c, k, g
				}
			}
		}
		if old == nil {
			return dropped
		}
		delete(oc, ok)
		m.graphBytes -= old.bytes
		dropped = true
	}
	return dropped
}

// Accumulate runs one forward and one backward pass of bt through the
// training graph, calling obj once (between them) on the whole micro-batch,
// and adds the parameter gradients into m.Grads. The gradients are summed
// over calls until ZeroGrad (or Step); scaling across micro-batches is the
// objective's business, as in verl.
func (m *Model) Accumulate(bt *Batch, temperature float64, obj Objective) (loss float64, metrics map[string]float64, err error) {
	if !(temperature > 0) {
		return 0, nil, fmt.Errorf("policy: temperature = %v, want > 0", temperature)
	}
	if err := bt.validate(m.W.Cfg.Vocab); err != nil {
		return 0, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.graphFor(m.train, bt.B, bt.T, true)
	if err != nil {
		return 0, nil, err
	}
	h := g.head
	copy(h.in.Targets, bt.Targets)
	h.begin(temperature, obj, m.micro)
	m.micro++
	if err := g.run(bt.Tokens); err != nil {
		if h.err != nil {
			return 0, nil, h.err
		}
		return 0, nil, err
	}
	d := m.W.Cfg.DModel
	for i := range m.Grads {
		dst := m.Grads[i]
		if m.W.List[i] == m.W.Wte {
			parallel(len(dst)/d, func(lo, hi int) {
				for _, rep := range g.reps {
					var head []float32
					if rep.grads[i] != nil {
						head = f32(rep.grads[i].Value())
					}
					rep.emb.addTo(dst, head, lo, hi)
				}
			})
			continue
		}
		parallel(len(dst), func(lo, hi int) {
			for _, rep := range g.reps {
				axpy(dst[lo:hi], f32(rep.grads[i].Value())[lo:hi])
			}
		})
	}
	return h.loss, h.metrics, nil
}

// ZeroGrad clears the accumulated gradients.
func (m *Model) ZeroGrad() {
	for _, g := range m.Grads {
		clear(g)
	}
	m.micro = 0
}

// GradNorm is the global L2 norm of the accumulated gradients.
func (m *Model) GradNorm() float64 {
	var s float64
	for _, g := range m.Grads {
		for _, x := range g {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients so their global norm is at most max
// (max <= 0: no clipping) and returns the norm before clipping. A NaN or
// Inf norm is an error and leaves the gradients as they are.
func (m *Model) ClipGradNorm(max float64) (float64, error) {
	n := m.GradNorm()
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return n, &NonFiniteError{What: "gradient norm", Value: n}
	}
	if max > 0 && n > max {
		s := float32(max / (n + 1e-6))
		for _, g := range m.Grads {
			for i := range g {
				g[i] *= s
			}
		}
	}
	return n, nil
}

// LogProbs runs the forward-only graph on bt and writes, per row of the
// batch, the log-prob of its target under softmax(logits/temperature) (0
// where there is no target) and the entropy of that distribution. logits, if
// not nil, receives the raw logits [B*T*V].
func (m *Model) LogProbs(bt *Batch, temperature float64, logp, entropy []float64, logits []float32) error {
	if !(temperature > 0) {
		return fmt.Errorf("policy: temperature = %v, want > 0", temperature)
	}
	if err := bt.validate(m.W.Cfg.Vocab); err != nil {
		return err
	}
	n, v := bt.B*bt.T, m.W.Cfg.Vocab
	if len(logp) < n || len(entropy) < n {
		return fmt.Errorf("policy: LogProbs needs outputs of %d rows", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.graphFor(m.fwd, bt.B, bt.T, false)
	if err != nil {
		return err
	}
	if err := g.run(bt.Tokens); err != nil {
		return err
	}
	inv := 1 / temperature
	for i := 0; i < n; i++ {
		logp[i], entropy[i], _ = kern.RowStats(g.fwd[i*v:i*v+v], inv, bt.Targets[i])
	}
	if logits != nil {
		copy(logits, g.fwd)
	}
	return nil
}
