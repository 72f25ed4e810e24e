package clip

import (
	"math"
	"math/rand/v2"
	"testing"
)

// batch is a seeded random batch: ragged rows, right-padded masks (one
// fully masked row when b > 2), junk at masked positions.
type batch struct {
	logp, old, adv, mask, ent, uniform, ref [][]float64
}

func newBatch(seed uint64, b, t int, spread float64) batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	mk := func() [][]float64 {
		x := make([][]float64, b)
		for i := range x {
			x[i] = make([]float64, t)
		}
		return x
	}
	bt := batch{logp: mk(), old: mk(), adv: mk(), mask: mk(), ent: mk(), uniform: mk(), ref: mk()}
	for i := range b {
		n := 1 + rng.IntN(t)
		if b > 2 && i == b-1 {
			n = 0
		}
		a := rng.NormFloat64()
		if rng.IntN(8) == 0 {
			a = 0
		}
		for j := range t {
			bt.old[i][j] = -3 * rng.Float64()
			bt.logp[i][j] = bt.old[i][j] + spread*rng.NormFloat64()
			bt.ref[i][j] = bt.old[i][j] + 0.3*rng.NormFloat64()
			bt.adv[i][j] = a
			bt.ent[i][j] = 3 * rng.Float64()
			bt.uniform[i][j] = rng.Float64()
			if j < n {
				bt.mask[i][j] = 1
			} else {
				// Junk that must be ignored.
				bt.logp[i][j], bt.old[i][j], bt.adv[i][j], bt.ent[i][j], bt.ref[i][j] = 1e300, -1e300, 1e300, -5, 1e300
			}
		}
	}
	return bt
}

func (bt batch) input() Input {
	return Input{Logp: bt.logp, OldLogp: bt.old, Adv: bt.adv, Mask: bt.mask, Entropy: bt.ent, Uniform: bt.uniform, RefLogp: bt.ref}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func checkFinite(t *testing.T, name string, res Result) {
	t.Helper()
	if !finite(res.Loss) {
		t.Errorf("%s: loss = %v", name, res.Loss)
	}
	for b, row := range res.Grad {
		for j, g := range row {
			if !finite(g) {
				t.Errorf("%s: grad[%d][%d] = %v", name, b, j, g)
			}
		}
	}
	for k, v := range res.Metrics {
		if !finite(v) {
			t.Errorf("%s: metric %s = %v", name, k, v)
		}
	}
}

// buildAll returns every registered loss built from the default config
// with the given aggregation, plus the KL loss for every estimator.
func buildAll(t testing.TB, agg Agg) map[string]Loss {
	t.Helper()
	out := map[string]Loss{}
	for _, name := range Names() {
		cfg := DefaultConfig()
		cfg.Name, cfg.Agg = name, agg
		l, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", name, err)
		}
		out[name] = l
	}
	for _, kind := range KLNames() {
		cfg := DefaultKLConfig()
		cfg.Kind, cfg.Agg = kind, agg
		l, err := NewKLLoss(cfg)
		if err != nil {
			t.Fatalf("NewKLLoss(%s): %v", kind, err)
		}
		out["kl/"+kind] = l
	}
	return out
}
