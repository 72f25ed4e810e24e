package clip

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLosses: finite inputs in the documented domain never give a NaN or
// Inf loss, gradient or metric, for every registered loss and KL kind under
// every aggregation. The fuzzed values overwrite one valid token of a seeded
// random batch (whose masked positions hold ±1e300 junk).
//
// Domain: log-probs in [−500, 0] (real log-probabilities; exp(Δ) stays
// finite for the losses without a log-ratio clamp), |A| ≤ 1e6,
// entropy in [0, 1e6], uniform in [0, 1); other finite values are folded in.
//
// Seed corpus: the first valid token of every golden policy-loss case, plus
// hand-picked extremes.
func FuzzLosses(f *testing.F) {
	for _, file := range []string{"ppo_clip.json", "clip_cov.json", "kl_cov.json", "cegppo.json", "hapo_loss.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "golden", file))
		if err != nil {
			f.Fatal(err)
		}
		var g goldenFile
		if err := json.Unmarshal(raw, &g); err != nil {
			f.Fatal(err)
		}
		for i, c := range g.Cases {
			var logp, old, adv [][]float64
			json.Unmarshal(c.Inputs["logp_new"], &logp)
			json.Unmarshal(c.Inputs["logp_old"], &old)
			json.Unmarshal(c.Inputs["advantages"], &adv)
			f.Add(uint64(i), adv[0][0], logp[0][0], old[0][0], 1.0, 0.5, uint8(i))
		}
	}
	f.Add(uint64(1), 1e6, 0.0, -500.0, 0.0, 0.0, uint8(0))
	f.Add(uint64(2), -1e6, -500.0, 0.0, 1e6, 0.999, uint8(1))
	f.Add(uint64(3), 0.0, -30.0, -30.0, 1e-300, 0.5, uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, adv, logp, old, ent, u float64, mode uint8) {
		for _, x := range []float64{adv, logp, old, ent, u} {
			if !finite(x) {
				t.Skip("not finite")
			}
		}
		// Fold any finite value into the domain.
		logp, old = -math.Mod(math.Abs(logp), 500), -math.Mod(math.Abs(old), 500)
		adv, ent, u = math.Mod(adv, 1e6), math.Mod(math.Abs(ent), 1e6), math.Mod(math.Abs(u), 1)
		bt := newBatch(seed, 4, 6, 1)
		bt.mask[1][0], bt.mask[1][1] = 1, 1 // make sure the token is valid
		bt.logp[1][1], bt.old[1][1], bt.adv[1][1], bt.ent[1][1], bt.uniform[1][1], bt.ref[1][1] = logp, old, adv, ent, u, old
		for _, row := range [][]float64{bt.logp[1], bt.old[1], bt.adv[1], bt.ent[1], bt.ref[1]} {
			if math.Abs(row[0]) > 1e6 {
				row[0] = -1
			}
		}
		agg := Agg{Mode: AggModes()[int(mode)%len(AggModes())], ScaleFactor: float64(mode % 3)}
		for name, l := range buildAll(t, agg) {
			res, err := l.Compute(nil, bt.input())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkFinite(t, name, res)
		}
	})
}
