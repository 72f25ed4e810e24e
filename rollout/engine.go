package rollout

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/entrolab/entrolab/internal/kern"
	"github.com/entrolab/entrolab/policy"
)

// Finish says why a completion ended.
type Finish uint8

const (
	FinishLength Finish = iota // reached max_new_tokens or the context
	FinishEOS                  // sampled <eos>
)

func (f Finish) String() string {
	if f == FinishEOS {
		return "eos"
	}
	return "length"
}

// Sequence is one completion and its per-token records (all [len(Tokens)]).
type Sequence struct {
	Prompt     int       // index into Batch.Prompts
	Tokens     []int32   // completion tokens, <eos> included when sampled
	SampleLogp []float64 // log-prob under the distribution sampled from (after temperature and truncation; 0 when greedy)
	Logp       []float64 // log softmax(logits / T)[token], T the token's temperature (1 when greedy): the trainer's old log-prob
	LogpRaw    []float64 // log softmax(logits)[token]: the untempered policy
	Entropy    []float64 // entropy of softmax(logits / T)
	Temp       []float64 // the temperature T used for the token
	Finish     Finish
}

// Batch is the result of one Generate call: N sequences per prompt, prompt
// p's group at Seqs[p*N : (p+1)*N].
type Batch struct {
	Prompts [][]int32
	N       int
	Seqs    []Sequence
}

// Engine samples from a policy's weights. It is not safe for concurrent
// Generate calls; it must not run while the trainer updates the weights.
type Engine struct {
	W       *policy.Weights
	EOS     int32
	Workers int // default GOMAXPROCS
	// Stop, when set, is asked before every decoding position; a non-nil
	// error abandons the call with that error (a signal: the batch is lost).
	Stop func() error

	ws   []*worker
	jobs []job
	samp Sampling // the call's settings, kept here so they do not escape per call
}

// New returns an engine over w (read in place, never copied).
func New(w *policy.Weights, eos int32) *Engine {
	return &Engine{W: w, EOS: eos, Workers: runtime.GOMAXPROCS(0)}
}

// job is one sequence's state while decoding.
type job struct {
	seq    *Sequence
	prompt []int32
	src    *rand.PCG
	rng    *rand.Rand
	maxNew int
	last   int32 // token fed at the current step
	done   bool
}

// Generate samples s.N completions for every prompt. seed fixes every draw:
// sequence i draws from PCG(seed, i), whatever the batch size or workers.
func (e *Engine) Generate(prompts [][]int32, s Sampling, seed uint64) (*Batch, error) {
	b := &Batch{}
	if err := e.GenerateInto(b, prompts, s, seed); err != nil {
		return nil, err
	}
	return b, nil
}

// GenerateInto is Generate writing into dst, reusing its slices (and the
// engine's random streams and buffers): after the first call with a given
// shape, a call allocates nothing.
func (e *Engine) GenerateInto(dst *Batch, prompts [][]int32, s Sampling, seed uint64) error {
	if err := s.Validate(); err != nil {
		return err
	}
	cfg := e.W.Cfg
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("rollout: prompt %d is empty", i)
		}
		if len(p) >= cfg.MaxSeqLen {
			return fmt.Errorf("rollout: prompt %d has %d tokens; the context holds %d", i, len(p), cfg.MaxSeqLen)
		}
		for _, t := range p {
			if t < 0 || int(t) >= cfg.Vocab {
				return fmt.Errorf("rollout: prompt %d has token %d outside the vocabulary [0, %d)", i, t, cfg.Vocab)
			}
		}
	}
	n := len(prompts) * s.N
	dst.Prompts, dst.N = prompts, s.N
	if cap(dst.Seqs) < n {
		dst.Seqs = append(dst.Seqs[:cap(dst.Seqs)], make([]Sequence, n-cap(dst.Seqs))...)
	}
	dst.Seqs = dst.Seqs[:n]
	for len(e.jobs) < n {
		src := rand.NewPCG(0, 0)
		e.jobs = append(e.jobs, job{src: src, rng: rand.New(src)})
	}
	jobs := e.jobs[:n]
	for i := range jobs {
		p := prompts[i/s.N]
		maxNew := min(s.MaxNewTokens, cfg.MaxSeqLen-len(p))
		sq := &dst.Seqs[i]
		sq.Prompt, sq.Finish = i/s.N, FinishLength
		sq.Tokens = reuse(sq.Tokens, maxNew)
		sq.SampleLogp = reuseF(sq.SampleLogp, maxNew)
		sq.Logp = reuseF(sq.Logp, maxNew)
		sq.LogpRaw = reuseF(sq.LogpRaw, maxNew)
		sq.Entropy = reuseF(sq.Entropy, maxNew)
		sq.Temp = reuseF(sq.Temp, maxNew)
		jobs[i].src.Seed(seed, uint64(i))
		jobs[i].seq, jobs[i].prompt, jobs[i].done, jobs[i].maxNew = sq, p, false, maxNew
	}
	nw := max(1, min(e.Workers, n))
	for len(e.ws) < nw {
		e.ws = append(e.ws, &worker{})
	}
	if nw == 1 {
		e.samp = s
		return e.ws[0].run(e.W, jobs, &e.samp, e.EOS, e.Stop)
	}
	var wg sync.WaitGroup
	errs := make([]error, nw)
	for k := 0; k < nw; k++ {
		lo, hi := k*n/nw, (k+1)*n/nw
		wg.Add(1)
		go func(k int, js []job) {
			defer wg.Done()
			errs[k] = e.ws[k].run(e.W, js, &s, e.EOS, e.Stop)
		}(k, jobs[lo:hi])
	}
	wg.Wait()
	return errors.Join(errs...)
}

func reuse(x []int32, n int) []int32 {
	if cap(x) < n {
		return make([]int32, 0, n)
	}
	return x[:0]
}

func reuseF(x []float64, n int) []float64 {
	if cap(x) < n {
		return make([]float64, 0, n)
	}
	return x[:0]
}

// worker decodes a share of the sequences with its own buffers, which grow
// to the largest share seen and are reused.
type worker struct {
	cap    int // sequences the cache holds
	rowCap int // rows the activation buffers hold
	maxT   int
	d, v   int
	kv     [][]float32 // [layer] -> [S][2][maxT][D]: K then V per sequence
	x, h   []float32   // [S*D]
	qkv    []float32   // [S*3D]
	att    []float32   // [S*D]
	ff     []float32   // [S*4D]
	tt     []float32   // [S*4D] GELU tanh scratch
	logits []float32   // [S*V]
	scores []float32   // [maxT]
	ids    []int32     // [rows] token of each row
	pos    []int       // [rows] its position
	slot   []int       // [rows] its cache slot
	rows   []int       // active job index per row of a decode step
	sm     *sampler
}

func (wk *worker) ensure(cfg policy.Config, n, rows int) {
	if wk.cap >= n && wk.rowCap >= rows && wk.maxT == cfg.MaxSeqLen && wk.d == cfg.DModel && wk.v == cfg.Vocab && len(wk.kv) == cfg.NLayers {
		return
	}
	n, rows = max(n, wk.cap), max(rows, wk.rowCap)
	d, t := cfg.DModel, cfg.MaxSeqLen
	*wk = worker{cap: n, rowCap: rows, maxT: t, d: d, v: cfg.Vocab}
	wk.kv = make([][]float32, cfg.NLayers)
	for l := range wk.kv {
		wk.kv[l] = make([]float32, n*2*t*d)
	}
	wk.x, wk.h, wk.att = make([]float32, rows*d), make([]float32, rows*d), make([]float32, rows*d)
	wk.qkv = make([]float32, rows*3*d)
	wk.ff, wk.tt = make([]float32, rows*4*d), make([]float32, rows*4*d)
	wk.logits = make([]float32, n*cfg.Vocab)
	wk.scores = make([]float32, t)
	wk.ids = make([]int32, rows)
	wk.pos = make([]int, rows)
	wk.slot = make([]int, rows)
	wk.rows = make([]int, 0, n)
	wk.sm = newSampler(cfg.Vocab)
}

// run decodes js to completion. Job j keeps cache slot j for its lifetime.
// The prompt positions every job has, but its last, are run first in one
// batched pass (prefill); then all jobs advance one position per step, a job
// still inside its prompt being fed its next prompt token.
func (wk *worker) run(w *policy.Weights, js []job, s *Sampling, eos int32, stop func() error) error {
	if len(js) == 0 {
		return nil
	}
	cfg := w.Cfg
	p0 := cfg.MaxSeqLen
	for i := range js {
		p0 = min(p0, len(js[i].prompt))
	}
	pre := p0 - 1 // prefilled positions per job
	wk.ensure(cfg, len(js), max(len(js), len(js)*pre))
	v, t := cfg.Vocab, cfg.MaxSeqLen
	if pre > 0 {
		n := 0
		for i := range js {
			for p := 0; p < pre; p++ {
				wk.ids[n], wk.pos[n], wk.slot[n] = js[i].prompt[p], p, i
				n++
			}
		}
		wk.forward(w, n, false)
	}
	for i := range js {
		js[i].last = js[i].prompt[pre]
	}
	for pos := pre; pos < t; pos++ {
		if stop != nil {
			if err := stop(); err != nil {
				return err
			}
		}
		wk.rows = wk.rows[:0]
		for i := range js {
			if !js[i].done {
				r := len(wk.rows)
				wk.ids[r], wk.pos[r], wk.slot[r] = js[i].last, pos, i
				wk.rows = append(wk.rows, i)
			}
		}
		n := len(wk.rows)
		if n == 0 {
			break
		}
		wk.forward(w, n, true)
		for r := 0; r < n; r++ {
			jb := &js[wk.rows[r]]
			if pos+1 < len(jb.prompt) {
				jb.last = jb.prompt[pos+1] // still reading the prompt
				continue
			}
			wk.emit(jb, wk.logits[r*v:r*v+v], s, eos, pos, t)
		}
	}
	return nil
}

// forward runs n rows through the network: row r is token ids[r] at
// position pos[r] of cache slot slot[r]. Every row's key and value are
// cached before any row attends, so rows of one slot may share a call
// (prefill). With logits, the head's logits of the rows go to wk.logits.
func (wk *worker) forward(w *policy.Weights, n int, logits bool) {
	cfg := w.Cfg
	d, v, nh, t := cfg.DModel, cfg.Vocab, cfg.NHeads, cfg.MaxSeqLen
	hd := d / nh
	scale := float32(1 / math.Sqrt(float64(hd)))
	wte, wpe := w.Wte.Data, w.Wpe.Data
	for r := 0; r < n; r++ {
		x := wk.x[r*d : r*d+d]
		tok := wte[int(wk.ids[r])*d:]
		pe := wpe[wk.pos[r]*d:]
		for j := range x {
			x[j] = tok[j] + pe[j]
		}
	}
	for l, blk := range w.Blocks {
		kern.LayerNorm(wk.h, wk.x, blk.LN1W.Data, blk.LN1B.Data, nil, nil, n, d)
		kern.Linear(wk.qkv, wk.h, blk.AttnW.Data, blk.AttnB.Data, n, d, 3*d)
		cache := wk.kv[l]
		for r := 0; r < n; r++ {
			base, p := wk.slot[r]*2*t*d, wk.pos[r]
			copy(cache[base+p*d:base+p*d+d], wk.qkv[r*3*d+d:r*3*d+2*d])
			copy(cache[base+t*d+p*d:base+t*d+p*d+d], wk.qkv[r*3*d+2*d:r*3*d+3*d])
		}
		for r := 0; r < n; r++ {
			base, p := wk.slot[r]*2*t*d, wk.pos[r]
			kc, vc := cache[base:base+t*d], cache[base+t*d:base+2*t*d]
			q := wk.qkv[r*3*d : r*3*d+d]
			out := wk.att[r*d : r*d+d]
			clear(out)
			sc := wk.scores[:p+1]
			for h := 0; h < nh; h++ {
				kern.AttnScores(sc, q[h*hd:], kc[h*hd:], d, p+1, hd, scale)
				kern.SoftmaxCausal(sc, p+1)
				kern.AttnMix(out[h*hd:], sc, vc[h*hd:], d, p+1, hd)
			}
		}
		kern.Linear(wk.h, wk.att, blk.ProjW.Data, blk.ProjB.Data, n, d, d)
		addInto(wk.x[:n*d], wk.h[:n*d])
		kern.LayerNorm(wk.h, wk.x, blk.LN2W.Data, blk.LN2B.Data, nil, nil, n, d)
		kern.Linear(wk.ff, wk.h, blk.FcW.Data, blk.FcB.Data, n, d, 4*d)
		kern.GELU(wk.ff[:n*4*d], wk.tt, wk.ff[:n*4*d])
		kern.Linear(wk.h, wk.ff, blk.Fc2W.Data, blk.Fc2B.Data, n, 4*d, d)
		addInto(wk.x[:n*d], wk.h[:n*d])
	}
	if !logits {
		return
	}
	kern.LayerNorm(wk.h, wk.x, w.LNfW.Data, w.LNfB.Data, nil, nil, n, d)
	kern.Sgemm(false, true, n, v, d, wk.h, d, w.Head.Data, d, 0, wk.logits, v)
}

// emit samples the next token of jb from its logits row and records it.
func (wk *worker) emit(jb *job, z []float32, s *Sampling, eos int32, pos, t int) {
	sq := jb.seq
	temp := s.Temperature
	_, rawEnt, rawLse := kern.RowStats(z, 1, -1)
	if temp > 0 && s.TokenTemp != nil {
		temp = s.TokenTemp(rawEnt)
	}
	u := jb.rng.Float64()
	tok, slp := wk.sm.draw(z, temp, s, u)
	statT := temp
	if statT == 0 {
		statT = 1
	}
	raw := float64(z[tok]) - rawLse // what RowStats(z, 1, tok) returns
	lp, ent := raw, rawEnt
	if statT != 1 {
		lp, ent, _ = kern.RowStats(z, 1/statT, int32(tok))
	}
	sq.Tokens = append(sq.Tokens, int32(tok))
	sq.SampleLogp = append(sq.SampleLogp, slp)
	sq.Logp = append(sq.Logp, lp)
	sq.LogpRaw = append(sq.LogpRaw, raw)
	sq.Entropy = append(sq.Entropy, ent)
	sq.Temp = append(sq.Temp, statT)
	jb.last = int32(tok)
	switch {
	case int32(tok) == eos:
		jb.done, sq.Finish = true, FinishEOS
	case len(sq.Tokens) == jb.maxNew || pos+1 >= t:
		jb.done, sq.Finish = true, FinishLength
	}
}

func addInto(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
