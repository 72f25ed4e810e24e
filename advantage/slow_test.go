package advantage

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Slow, obvious versions of every estimator, written straight from the spec
// (shared/algorithms/ADVANTAGE_AND_CLIPPING.md §3, §9, §10.3) with padded
// [B][T] tiles, O(B²) group scans and no scratch reuse. The fast code is
// compared against them on seeded random batches.

// padded returns mask and, if given, x padded to the batch width with
// m = 0 and x = 0.
func padded(mask [][]float64) (width int, m [][]float64) {
	for _, row := range mask {
		width = max(width, len(row))
	}
	m = make([][]float64, len(mask))
	for b, row := range mask {
		m[b] = make([]float64, width)
		copy(m[b], row)
	}
	return width, m
}

func members(ids []int, b int) []int {
	var js []int
	for j, id := range ids {
		if id == ids[b] {
			js = append(js, j)
		}
	}
	return js
}

func slowGRPO(r []float64, ids []int, eps float64, scale bool) []float64 {
	a := make([]float64, len(r))
	for b := range r {
		js := members(ids, b)
		mean, std := 0.0, 1.0
		if len(js) > 1 {
			for _, j := range js {
				mean += r[j]
			}
			mean /= float64(len(js))
			ss := 0.0
			for _, j := range js {
				ss += (r[j] - mean) * (r[j] - mean)
			}
			std = math.Sqrt(ss / float64(len(js)-1))
		}
		if scale {
			a[b] = (r[b] - mean) / (std + eps)
		} else {
			a[b] = r[b] - mean
		}
	}
	return a
}

func slowRLOO(r []float64, ids []int) []float64 {
	a := make([]float64, len(r))
	for b := range r {
		js := members(ids, b)
		if len(js) == 1 {
			a[b] = r[b]
			continue
		}
		others := 0.0
		for _, j := range js {
			if j != b {
				others += r[j]
			}
		}
		a[b] = r[b] - others/float64(len(js)-1)
	}
	return a
}

func slowBroadcast(a []float64, mask [][]float64) [][]float64 {
	out := make([][]float64, len(mask))
	for b, row := range mask {
		out[b] = make([]float64, len(row))
		for t, m := range row {
			out[b][t] = a[b] * m
		}
	}
	return out
}

// slowWhiten is verl's masked_whiten followed by ·m, on a padded tile.
func slowWhiten(x, m [][]float64) [][]float64 {
	var n, s float64
	for b := range x {
		for t := range x[b] {
			n += m[b][t]
			s += x[b][t] * m[b][t]
		}
	}
	out := make([][]float64, len(x))
	for b := range x {
		out[b] = make([]float64, len(x[b]))
	}
	if n <= 1 {
		return out
	}
	mean := s / (n + 1e-8)
	v := 0.0
	for b := range x {
		for t := range x[b] {
			v += (x[b][t] - mean) * (x[b][t] - mean) * m[b][t]
		}
	}
	v = v / (n + 1e-8) * n / (n - 1)
	for b := range x {
		for t := range x[b] {
			out[b][t] = (x[b][t] - mean) / math.Sqrt(v+1e-8) * m[b][t]
		}
	}
	return out
}

func unpad(x, mask [][]float64) [][]float64 {
	out := make([][]float64, len(mask))
	for b, row := range mask {
		out[b] = x[b][:len(row)]
	}
	return out
}

func slowRPPBaseline(r []float64, ids []int, mask [][]float64) [][]float64 {
	_, m := padded(mask)
	x := make([][]float64, len(r))
	for b := range r {
		js := members(ids, b)
		mean := 0.0
		if len(js) > 1 {
			for _, j := range js {
				mean += r[j]
			}
			mean /= float64(len(js))
		}
		x[b] = make([]float64, len(m[b]))
		for t := range x[b] {
			x[b][t] = (r[b] - mean) * m[b][t]
		}
	}
	return unpad(slowWhiten(x, m), mask)
}

// slowRPP follows verl's loop over the padded width literally.
func slowRPP(rew, mask [][]float64, gamma float64) (ret, adv [][]float64) {
	width, m := padded(mask)
	g := make([][]float64, len(mask))
	for b := range g {
		g[b] = make([]float64, width)
	}
	for b := range mask {
		run := 0.0
		for t := width - 1; t >= 0; t-- {
			r := 0.0
			if m[b][t] != 0 { // masked junk is not read (it may be NaN)
				r = rew[b][t]
			}
			run = r + gamma*run
			g[b][t] = run * m[b][t]
			run *= m[b][t]
		}
	}
	return unpad(g, mask), unpad(slowWhiten(g, m), mask)
}

func slowAAPO(r, ref []float64, ids []int, cfg AAPOConfig) []float64 {
	a := slowGRPO(r, ids, cfg.Eps, cfg.ScaleRewards)
	for b := range a {
		a[b] += min(max(r[b]-ref[b], cfg.DeltaLow), cfg.DeltaHigh)
	}
	return a
}

// slowHAPO builds each group's padded score tile (score R_b on valid
// tokens, 0 on padding) and tests every position of it, as upstream does.
func slowHAPO(r []float64, ids []int, mask [][]float64, cfg HAPOConfig) [][]float64 {
	width, m := padded(mask)
	grpo := slowGRPO(r, ids, cfg.Eps, cfg.NormByStd)
	a := make([]float64, len(r))
	done := make(map[int]bool)
	for b := range r {
		if done[ids[b]] {
			continue
		}
		done[ids[b]] = true
		js := members(ids, b)
		var scores []float64
		for _, j := range js {
			for t := range width {
				if m[j][t] != 0 {
					scores = append(scores, r[j])
				}
			}
		}
		if len(scores) == 0 {
			continue // no valid tokens: zeros
		}
		mean, ss := 0.0, 0.0
		for _, s := range scores {
			mean += s
		}
		mean /= float64(len(scores))
		for _, s := range scores {
			ss += (s - mean) * (s - mean)
		}
		std := math.Sqrt(ss / float64(len(scores)))
		z := func(s float64) float64 {
			if cfg.NormByStd {
				return (s - mean) / (std + cfg.Eps)
			}
			return s - mean
		}
		fallback := false
		for _, j := range js {
			for t := range width {
				valid := m[j][t] != 0
				score := 0.0
				if valid {
					score = r[j]
				}
				if (valid || cfg.FallbackIncludePadding) && math.Abs(z(score)) >= cfg.FallbackThreshold {
					fallback = true
				}
			}
		}
		for _, j := range js {
			if fallback {
				a[j] = grpo[j]
			} else {
				a[j] = z(r[j])
			}
		}
	}
	return slowBroadcast(a, mask)
}

// randomInput draws a batch of B responses, widths up to T, in groups of
// mixed sizes (ids sparse and unordered), some empty rows, interior holes
// and junk at masked positions.
func randomInput(rng *rand.Rand, B, T int, binary bool) Input {
	in := Input{
		Rewards:      make([]float64, B),
		RefRewards:   make([]float64, B),
		Group:        make([]int, B),
		Mask:         make([][]float64, B),
		TokenRewards: make([][]float64, B),
	}
	nGroups := 1 + rng.IntN(max(1, B/3))
	for b := range B {
		in.Group[b] = 7*rng.IntN(nGroups) - 5
		if binary {
			in.Rewards[b] = float64(rng.IntN(2))
			in.RefRewards[b] = float64(rng.IntN(2))
		} else {
			in.Rewards[b] = rng.NormFloat64()
			in.RefRewards[b] = in.Rewards[b] + 0.3*rng.NormFloat64()
		}
		n := rng.IntN(T + 1)
		width := n
		if rng.IntN(3) == 0 {
			width = T // right-padded to the full width
		}
		in.Mask[b] = make([]float64, width)
		in.TokenRewards[b] = make([]float64, width)
		for t := range width {
			if t < n && rng.IntN(20) != 0 {
				in.Mask[b][t] = 1
				in.TokenRewards[b][t] = 0.1 * rng.NormFloat64()
			} else {
				in.TokenRewards[b][t] = 1e3 * rng.NormFloat64() // junk
			}
		}
		for t := width - 1; t >= 0; t-- {
			if in.Mask[b][t] != 0 {
				in.TokenRewards[b][t] += in.Rewards[b]
				break
			}
		}
	}
	return in
}

func TestAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := tol{1e-9, 1e-7}
	for i := range 300 {
		in := randomInput(rng, 1+rng.IntN(24), 1+rng.IntN(12), i%2 == 0)
		cases := []struct {
			name string
			est  Estimator
			want [][]float64
		}{
			{"grpo", must(NewGRPO(DefaultGRPOConfig())), slowBroadcast(slowGRPO(in.Rewards, in.Group, 1e-6, true), in.Mask)},
			{"grpo_trl", must(NewGRPO(GRPOConfig{Eps: 1e-4, ScaleByStd: true})), slowBroadcast(slowGRPO(in.Rewards, in.Group, 1e-4, true), in.Mask)},
			{"dr_grpo", must(NewGRPO(GRPOConfig{Eps: 1e-6})), slowBroadcast(slowGRPO(in.Rewards, in.Group, 1e-6, false), in.Mask)},
			{"rloo", must(NewRLOO(DefaultRLOOConfig())), slowBroadcast(slowRLOO(in.Rewards, in.Group), in.Mask)},
			{"reinforce_pp_baseline", NewReinforcePPBaseline(), slowRPPBaseline(in.Rewards, in.Group, in.Mask)},
			{"aapo", must(NewAAPO(DefaultAAPOConfig())), slowBroadcast(slowAAPO(in.Rewards, in.RefRewards, in.Group, DefaultAAPOConfig()), in.Mask)},
		}
		for _, gamma := range []float64{1, 0.9, 0} {
			_, adv := slowRPP(in.TokenRewards, in.Mask, gamma)
			cases = append(cases, struct {
				name string
				est  Estimator
				want [][]float64
			}{"reinforce_pp", must(NewReinforcePP(ReinforcePPConfig{Gamma: gamma})), adv})
		}
		for _, cfg := range []HAPOConfig{
			DefaultHAPOConfig(),
			{Eps: 1e-6, NormByStd: true, FallbackThreshold: 5},
			{Eps: 1e-6, NormByStd: false, FallbackThreshold: 5, FallbackIncludePadding: true},
			{Eps: 1e-6, NormByStd: true, FallbackThreshold: 1.2, FallbackIncludePadding: true},
		} {
			cases = append(cases, struct {
				name string
				est  Estimator
				want [][]float64
			}{"hapo", must(NewHAPO(cfg)), slowHAPO(in.Rewards, in.Group, in.Mask, cfg)})
		}
		for _, tc := range cases {
			dst := Alloc(in.Mask)
			if err := tc.est.Estimate(dst, in); err != nil {
				t.Fatalf("draw %d: %s: %v", i, tc.name, err)
			}
			for b := range tc.want {
				for tt := range tc.want[b] {
					if !c.ok(dst[b][tt], tc.want[b][tt]) {
						t.Fatalf("draw %d: Estimate(%s)[%d][%d] = %.17g, slow version %.17g", i, tc.name, b, tt, dst[b][tt], tc.want[b][tt])
					}
				}
			}
		}
	}
}

func TestReturnsAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := tol{1e-12, 1e-12}
	for i := range 100 {
		in := randomInput(rng, 1+rng.IntN(16), 1+rng.IntN(12), false)
		gamma := rng.Float64()
		est := must(NewReinforcePP(ReinforcePPConfig{Gamma: gamma}))
		want, _ := slowRPP(in.TokenRewards, in.Mask, gamma)
		adv, ret := Alloc(in.Mask), Alloc(in.Mask)
		if err := est.EstimateReturns(adv, ret, in); err != nil {
			t.Fatal(err)
		}
		for b := range want {
			for tt := range want[b] {
				if !c.ok(ret[b][tt], want[b][tt]) {
					t.Fatalf("draw %d: returns[%d][%d] = %v, want %v", i, b, tt, ret[b][tt], want[b][tt])
				}
			}
		}
	}
}

func must[E any](e E, err error) E {
	if err != nil {
		panic(err)
	}
	return e
}
