package clip

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/masked"
)

func TestRegistry(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, want := range []string{"cegppo", "clip_cov", "hapo", "kl_cov", "ppo", "ppo_clip_higher"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %s", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = name
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate(default %s): %v", name, err)
			}
			l, err := New(cfg)
			if err != nil || l == nil {
				t.Fatalf("New(default %s) = %v, %v", name, l, err)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Name = "ppx"
		_, err := New(cfg)
		if !errors.Is(err, ErrUnknownName) {
			t.Fatalf("New(ppx) error = %v, want ErrUnknownName", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "clip: ") || !strings.Contains(msg, `"ppx"`) || !strings.Contains(msg, strings.Join(names, ", ")) {
			t.Errorf("New(ppx) error = %q, want the name and the known list", msg)
		}
	})
	t.Run("duplicate_register_panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Register(ppo) did not panic")
			}
		}()
		Register("ppo", newPPO)
	})
	t.Run("register", func(t *testing.T) {
		Register("test_ppo_alias", newPPO)
		defer delete(registry, "test_ppo_alias")
		cfg := DefaultConfig()
		cfg.Name = "test_ppo_alias"
		if _, err := New(cfg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKLRegistry(t *testing.T) {
	for _, name := range KLNames() {
		if _, err := NewKL(name); err != nil {
			t.Errorf("NewKL(%s): %v", name, err)
		}
	}
	_, err := NewKL("k4")
	if !errors.Is(err, ErrUnknownName) || !strings.Contains(err.Error(), "low_var_kl") {
		t.Errorf("NewKL(k4) error = %v", err)
	}
	if err := DefaultKLConfig().Validate(); err != nil {
		t.Error(err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error
	}{
		{"agg_mode", func(c *Config) { c.Mode = "token-sum" }, `loss_agg_mode "token-sum"`},
		{"agg_scale", func(c *Config) { c.ScaleFactor = -1 }, "loss_scale_factor -1"},
		{"ppo_low", func(c *Config) { c.PPO.ClipRatioLow = 1.5 }, "clip_ratio_low 1.5"},
		{"ppo_high", func(c *Config) { c.PPO.ClipRatioHigh = -0.1 }, "clip_ratio_high -0.1"},
		{"ppo_dual", func(c *Config) { c.PPO.ClipRatioC = 0.8 }, "clip_ratio_c 0.8 must exceed 1"},
		{"ppo_clamp", func(c *Config) { c.PPO.LogRatioClamp = -1 }, "log_ratio_clamp -1"},
		{"clip_cov_ratio", func(c *Config) { c.Name = "clip_cov"; c.ClipCov.ClipCovRatio = 2 }, "clip_cov_ratio 2"},
		{"clip_cov_bounds", func(c *Config) { c.Name = "clip_cov"; c.ClipCov.ClipCovLB = 5 }, "clip_cov_lb 5 must be below clip_cov_ub 5"},
		{"kl_cov_ratio", func(c *Config) { c.Name = "kl_cov"; c.KLCov.KLCovRatio = 20 }, "kl_cov_ratio 20"},
		{"kl_cov_coef", func(c *Config) { c.Name = "kl_cov"; c.KLCov.PPOKLCoef = -1 }, "ppo_kl_coef -1"},
		{"cegppo_beta1", func(c *Config) { c.Name = "cegppo"; c.CEGPPO.Beta1 = -1 }, "beta1 -1"},
		{"hapo_mode", func(c *Config) { c.Name = "hapo"; c.HAPO.HHatMode = "abs" }, `hhat_mode "abs"`},
		{"hapo_pivot", func(c *Config) { c.Name = "hapo"; c.HAPO.EntropyPivot = 1.2 }, "entropy_pivot 1.2"},
		{"hapo_rows", func(c *Config) { c.Name = "hapo"; c.HAPO.StatsRows = -2 }, "stats_rows -2"},
		{"unread_section_ignored", func(c *Config) { c.HAPO.EntropyPivot = 7 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "clip: ") {
				t.Errorf("Validate(%s) = %v, want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	bt := newBatch(1, 3, 4, 0.3)
	hapo, _ := New(Config{Name: "hapo", Agg: DefaultAgg(), HAPO: DefaultHAPOConfig()})
	cc, _ := NewClipCov(DefaultClipCovConfig(), DefaultAgg())
	ppo, _ := NewPPO(DefaultPPOConfig(), DefaultAgg())
	kl, _ := NewKLLoss(DefaultKLConfig())
	tests := []struct {
		name string
		loss Loss
		edit func(*Input)
		want string
	}{
		{"short_row", ppo, func(in *Input) { in.Adv = [][]float64{in.Adv[0], in.Adv[1], in.Adv[2][:1]} }, "adv row 2"},
		{"rows", ppo, func(in *Input) { in.Mask = in.Mask[:2] }, "mask has 2 rows"},
		{"no_entropy", hapo, func(in *Input) { in.Entropy = nil }, "entropy is required"},
		{"no_random", cc, func(in *Input) { in.Uniform = nil }, "uniform or rand is required"},
		{"no_ref", kl, func(in *Input) { in.RefLogp = nil }, "ref_logp is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := bt.input()
			tt.edit(&in)
			_, err := tt.loss.Compute(nil, in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compute(%s) error = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestClippedGradient: a PPO-clipped token gets zero gradient; CE-GPPO
// keeps a bounded, non-zero one of magnitude β·bound·|A|·w.
func TestClippedGradient(t *testing.T) {
	// One row, token-mean, N = 4, w = 1/4. Hand-picked ratios.
	in := Input{
		Logp:    [][]float64{{math.Log(1.5), math.Log(0.5), math.Log(1.1), math.Log(4)}},
		OldLogp: [][]float64{{0, 0, 0, 0}},
		Adv:     [][]float64{{2, -1, 1, -3}},
		Mask:    [][]float64{{1, 1, 1, 1}},
		Trace:   &Trace{},
	}
	ppo, _ := NewPPO(PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipRatioC: 3}, DefaultAgg())
	res, _ := ppo.Compute(nil, in)
	wantReg := []Region{RegionClipHigh, RegionClipLow, RegionUnclipped, RegionDualClip}
	for tk, want := range wantReg {
		if got := in.Trace.Region[0][tk]; got != want {
			t.Errorf("PPO region[%d] = %d, want %d", tk, got, want)
		}
	}
	for _, tk := range []int{0, 1, 3} {
		if res.Grad[0][tk] != 0 {
			t.Errorf("PPO grad of clipped token %d = %v, want 0", tk, res.Grad[0][tk])
		}
	}
	if g, want := res.Grad[0][2], -1*1.1/4; math.Abs(g-want) > 1e-15 {
		t.Errorf("PPO unclipped grad = %v, want %v", g, want)
	}
	ceg, _ := NewCEGPPO(CEGPPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, Beta1: 0.5, Beta2: 1, ClipRatioC: 3}, DefaultAgg())
	res, _ = ceg.Compute(nil, in)
	for _, c := range []struct {
		tk   int
		want float64 // γ·w
	}{
		{0, -1 * 1.2 * 2 / 4},    // −β₂(1+ε_h)A
		{1, -0.5 * 0.8 * -1 / 4}, // −β₁(1−ε_l)A
		{3, 0},                   // dual clip still zero
	} {
		if g := res.Grad[0][c.tk]; math.Abs(g-c.want) > 1e-15 {
			t.Errorf("CEGPPO grad[%d] = %v, want %v", c.tk, g, c.want)
		}
	}
	// Bounded: however far the ratio moves, the clipped gradient stays put.
	in.Logp[0][0] = math.Log(50)
	res, _ = ceg.Compute(nil, in)
	if g := res.Grad[0][0]; math.Abs(g-(-1.2*2/4)) > 1e-15 {
		t.Errorf("CEGPPO grad at r=50 = %v, want %v", g, -1.2*2/4)
	}
}

// slowPPO is the obvious transcription of verl's vanilla loss:
// torch.max/min on the whole formula, then Agg by its definition.
func slowPPO(in Input, eps, epsH, c float64, agg Agg) float64 {
	var lm [][]float64
	for b := range in.Logp {
		row := make([]float64, len(in.Logp[b]))
		for t := range row {
			if in.Mask[b][t] == 0 {
				continue
			}
			d := max(min(in.Logp[b][t]-in.OldLogp[b][t], 20), -20)
			r := math.Exp(d)
			a := in.Adv[b][t]
			pg1 := -a * r
			pg2 := -a * max(min(r, 1+epsH), 1-eps)
			l := max(pg1, pg2)
			if c > 0 && a < 0 {
				l = min(l, -a*c)
			}
			row[t] = l
		}
		lm = append(lm, row)
	}
	// Agg by definition, not via RowWeights.
	n, s, width, total, seq := 0.0, 0.0, 0, 0.0, 0.0
	for b, row := range lm {
		nb, sum := 0.0, 0.0
		for t := range row {
			if in.Mask[b][t] != 0 {
				nb++
				sum += row[t]
			}
		}
		width = max(width, len(row))
		n += nb
		total += sum
		if nb > 0 {
			s++
			switch agg.Mode {
			case SeqMeanTokenMean:
				seq += sum / (nb + 1e-8)
			default:
				seq += sum
			}
		}
	}
	if n == 0 {
		return 0
	}
	switch agg.Mode {
	case SeqMeanTokenSum, SeqMeanTokenMean:
		return seq / s
	case SeqMeanTokenSumNorm:
		k := agg.ScaleFactor
		if k == 0 {
			k = float64(width)
		}
		return total / k
	}
	return total / n
}

// numGrad is the central finite difference of loss.Compute with respect
// to Logp[b][t].
func numGrad(t *testing.T, l Loss, in Input, b, tk int, h float64) float64 {
	t.Helper()
	x := in.Logp[b][tk]
	in.Logp[b][tk] = x + h
	up, err := l.Compute(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Logp[b][tk] = x - h
	dn, _ := l.Compute(nil, in)
	in.Logp[b][tk] = x
	return (up.Loss - dn.Loss) / (2 * h)
}

func TestPPOAgainstSlow(t *testing.T) {
	for _, mode := range AggModes() {
		for seed := range uint64(5) {
			bt := newBatch(seed, 6, 9, 0.4)
			for _, c := range []float64{0, 3} {
				for _, sf := range []float64{0, 16} {
					agg := Agg{Mode: mode, ScaleFactor: sf}
					p, _ := NewPPO(PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.28, ClipRatioC: c, LogRatioClamp: 20}, agg)
					res, _ := p.Compute(nil, bt.input())
					want := slowPPO(bt.input(), 0.2, 0.28, c, agg)
					if math.Abs(res.Loss-want) > 1e-12*(1+math.Abs(want)) {
						t.Errorf("PPO(%s, seed %d, c %v) = %v, slow %v", mode, seed, c, res.Loss, want)
					}
				}
			}
		}
	}
}

// TestFiniteDifference checks each loss's analytic gradient against central
// differences of its own value, where the value is differentiable in Logp:
// PPO, KL-Cov (selection depends on sg(logp) and is held fixed by small h),
// HAPO and the KL losses. Clip-Cov also qualifies away from cov bounds.
// CE-GPPO is excluded by design: its clipped value is constant while its
// gradient is not (r/sg(r)); so are the straight-through "+" KL kinds and
// CISPO, whose value −sg(w)·A·logp holds the weight fixed.
func TestFiniteDifference(t *testing.T) {
	for name, l := range buildAll(t, Agg{Mode: SeqMeanTokenMean}) {
		if name == "cegppo" || name == "cispo" || strings.HasSuffix(name, "+") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			bt := newBatch(11, 5, 7, 0.3)
			in := bt.input()
			res, err := l.Compute(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			grad := cloneRows(res.Grad)
			for b := range in.Logp {
				for tk := range in.Logp[b] {
					if in.Mask[b][tk] == 0 {
						if grad[b][tk] != 0 {
							t.Errorf("grad at masked [%d][%d] = %v", b, tk, grad[b][tk])
						}
						continue
					}
					fd := numGrad(t, l, in, b, tk, 1e-6)
					if math.Abs(fd-grad[b][tk]) > 1e-6*(1+math.Abs(fd)) {
						t.Errorf("grad[%d][%d] = %.10g, finite difference %.10g", b, tk, grad[b][tk], fd)
					}
				}
			}
		})
	}
}

func cloneRows(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = slices.Clone(x[i])
	}
	return out
}

func TestHAPODisabledEqualsPPO(t *testing.T) {
	bt := newBatch(3, 8, 10, 0.5)
	cfg := DefaultHAPOConfig()
	cfg.AdaptiveClip, cfg.AdaptiveAdvantage = false, false
	h, _ := NewHAPO(cfg, DefaultAgg())
	p, _ := NewPPO(PPOConfig{ClipRatioLow: 0.2, ClipRatioHigh: 0.2, ClipRatioC: 10}, DefaultAgg())
	hr, _ := h.Compute(nil, bt.input())
	pr, _ := p.Compute(nil, bt.input())
	if hr.Loss != pr.Loss {
		t.Errorf("HAPO(off) = %v, PPO = %v", hr.Loss, pr.Loss)
	}
	for b := range hr.Grad {
		if !slices.Equal(hr.Grad[b], pr.Grad[b]) {
			t.Errorf("row %d: HAPO(off) grad %v, PPO %v", b, hr.Grad[b], pr.Grad[b])
		}
	}
}

func TestHAPOHHatRange(t *testing.T) {
	bt := newBatch(4, 8, 12, 0.5)
	for _, mode := range []HHatMode{HHatSigned, HHatAsReleased} {
		hh, st := NormalizeEntropy(nil, bt.ent, bt.mask, 0.8, mode)
		lo, hi := math.Inf(1), math.Inf(-1)
		for b := range hh {
			for tk, v := range hh[b] {
				if bt.mask[b][tk] != 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		wantLo := -1.0
		if mode == HHatAsReleased {
			wantLo = 0 // the low side's sign is lost; its extreme maps to +1
		}
		if math.Abs(hi-1) > 1e-12 || (mode == HHatSigned && math.Abs(lo-wantLo) > 1e-12) || lo < wantLo-1e-12 {
			t.Errorf("%s: ĥ in [%v, %v]", mode, lo, hi)
		}
		if st.N != countValid(bt.mask) {
			t.Errorf("%s: stats.N = %d, want %d", mode, st.N, countValid(bt.mask))
		}
	}
}

func TestStatsScopes(t *testing.T) {
	bt := newBatch(5, 10, 8, 0.5)
	for _, rows := range []int{0, 3, 10, 20} {
		cfg := DefaultHAPOConfig()
		cfg.StatsRows = rows
		h, _ := NewHAPO(cfg, DefaultAgg())
		in := bt.input()
		in.Trace = &Trace{}
		if _, err := h.Compute(nil, in); err != nil {
			t.Fatal(err)
		}
		want := 1
		if rows > 0 && rows < 10 {
			want = (10 + rows - 1) / rows
		}
		if len(in.Trace.Stats) != want {
			t.Errorf("stats_rows %d: %d scopes, want %d", rows, len(in.Trace.Stats), want)
		}
	}
	// Clip-Cov: k is per scope, so three scopes select up to three tokens.
	cfg := DefaultClipCovConfig()
	cfg.ClipCovLB, cfg.ClipCovUB, cfg.StatsRows = -100, 100, 4
	cfg.ClipRatioLow, cfg.ClipRatioHigh = 1, 100 // nothing PPO-clipped: every valid token is a candidate
	c, _ := NewClipCov(cfg, DefaultAgg())
	res, _ := c.Compute(nil, bt.input())
	if res.Metrics["clip_num"] != 3 || res.Metrics["n_selected"] != 3 {
		t.Errorf("clip_cov with 3 scopes: clip_num %v, n_selected %v, want 3", res.Metrics["clip_num"], res.Metrics["n_selected"])
	}
}

func TestClipCovRand(t *testing.T) {
	bt := newBatch(6, 8, 16, 0.2)
	cfg := DefaultClipCovConfig()
	cfg.ClipCovRatio, cfg.ClipCovLB, cfg.ClipCovUB = 0.1, -100, 100
	run := func(seed uint64) ([][2]int, Result) {
		c, _ := NewClipCov(cfg, DefaultAgg())
		in := bt.input()
		in.Uniform, in.Rand, in.Trace = nil, rand.New(rand.NewPCG(seed, 1)), &Trace{}
		res, err := c.Compute(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, bt := range in.Trace.SelectedList {
			if res.Grad[bt[0]][bt[1]] != 0 || in.Trace.Loss[bt[0]][bt[1]] != 0 {
				t.Errorf("selected token %v has grad %v, loss %v", bt, res.Grad[bt[0]][bt[1]], in.Trace.Loss[bt[0]][bt[1]])
			}
		}
		return slices.Clone(in.Trace.SelectedList), res
	}
	a, res := run(1)
	b, _ := run(1)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different selections: %v vs %v", a, b)
	}
	want := min(max(int(0.1*res.Metrics["n_valid"]), 1), int(res.Metrics["n_candidates"]))
	if len(a) != want {
		t.Errorf("selected %d, want %d", len(a), want)
	}
}

func TestSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for n := range 40 {
		for _, k := range []int{0, 1, 2, 5, n, n + 3} {
			items := make([]keyed, n)
			for i := range items {
				items[i] = keyed{key: float64(rng.IntN(5)), b: int32(i / 7), t: int32(i % 7)}
			}
			ref := slices.Clone(items)
			slices.SortFunc(ref, cmpKeyed)
			ref = ref[:min(max(k, 0), n)]
			slices.SortFunc(ref, cmpIndex)
			got := smallestK(items, k)
			if !slices.Equal(got, ref) {
				t.Errorf("smallestK(n=%d, k=%d) = %v, want %v", n, k, got, ref)
			}
		}
	}
	for n := 1; n < 60; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(10))
		}
		sorted := slices.Sorted(slices.Values(xs))
		for k := range n {
			if got := masked.NthSmallest(slices.Clone(xs), k); got != sorted[k] {
				t.Errorf("nthSmallest(%v, %d) = %v, want %v", xs, k, got, sorted[k])
			}
		}
	}
}

func TestAggInvariants(t *testing.T) {
	ones := [][]float64{{1, 1, 1}, {1, 0, 0}, {0, 0, 0}}
	mask := [][]float64{{1, 1, 1}, {1, 0, 0}, {0, 0, 0}}
	tests := []struct {
		mode AggMode
		want float64 // hand-computed: N = 4, S = 2, T = 3
	}{
		{TokenMean, 1},
		{SeqMeanTokenSum, 2}, // (3 + 1)/2
		{SeqMeanTokenMean, (3/(3+1e-8) + 1/(1+1e-8)) / 2}, // ≈ 1
		{SeqMeanTokenSumNorm, 4.0 / 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			got, grad := Agg{Mode: tt.mode}.Loss(nil, ones, mask)
			if math.Abs(got-tt.want) > 1e-15 {
				t.Errorf("Loss(%s) = %v, want %v", tt.mode, got, tt.want)
			}
			// Linear: L = Σ w·ℓ.
			sum := 0.0
			for b := range grad {
				for tk := range grad[b] {
					sum += grad[b][tk] * ones[b][tk]
				}
			}
			if math.Abs(sum-got) > 1e-15 {
				t.Errorf("Σ w·ℓ = %v, L = %v", sum, got)
			}
			empty := [][]float64{{0, 0}, {0}}
			if l, g := (Agg{Mode: tt.mode}).Loss(nil, [][]float64{{5, 5}, {5}}, empty); l != 0 || g[0][0] != 0 {
				t.Errorf("empty mask: L = %v, w = %v", l, g)
			}
		})
	}
}

func TestKLEstimators(t *testing.T) {
	for _, name := range KLNames() {
		est, _ := NewKL(name)
		if v, _ := est.Eval(0); v != 0 {
			t.Errorf("%s(0) = %v, want 0", name, v)
		}
		for _, x := range []float64{-3, -0.5, 0.2, 2} {
			v, dv := est.Eval(x)
			if strings.HasSuffix(name, "+") {
				if dv != x {
					t.Errorf("%s'(%v) = %v, want x (straight-through)", name, x, dv)
				}
				continue
			}
			h := 1e-6
			vp, _ := est.Eval(x + h)
			vm, _ := est.Eval(x - h)
			if fd := (vp - vm) / (2 * h); math.Abs(fd-dv) > 1e-6 {
				t.Errorf("%s'(%v) = %v, finite difference %v", name, x, dv, fd)
			}
			if (name == "k3" || name == "low_var_kl" || name == "k2" || name == "abs") && v < 0 {
				t.Errorf("%s(%v) = %v < 0", name, x, v)
			}
		}
	}
	// k3 clamp regions: both give value 10 and zero gradient.
	k3, _ := NewKL("k3")
	for _, x := range []float64{-15, 25} {
		if v, dv := k3.Eval(x); v != 10 || dv != 0 {
			t.Errorf("k3(%v) = %v, %v; want 10, 0", x, v, dv)
		}
	}
}

// TestNoPerTokenAllocs: with the gradient and scratch reused, a Compute
// allocates only its metrics map, whatever the batch size.
func TestNoPerTokenAllocs(t *testing.T) {
	for name, l := range buildAll(t, DefaultAgg()) {
		t.Run(name, func(t *testing.T) {
			counts := []float64{}
			for _, size := range []int{4, 32} {
				in := newBatch(1, size, size, 0.3).input()
				res, _ := l.Compute(nil, in)
				dst := res.Grad
				counts = append(counts, testing.AllocsPerRun(5, func() {
					r, _ := l.Compute(dst, in)
					dst = r.Grad
				}))
			}
			if counts[0] != counts[1] || counts[1] > 4 {
				t.Errorf("allocs per Compute = %v for 4x4 and 32x32 batches", counts)
			}
		})
	}
}

// TestDstReuse: a caller's dst is written in place when it fits.
func TestDstReuse(t *testing.T) {
	bt := newBatch(2, 3, 5, 0.3)
	dst := [][]float64{make([]float64, 8), make([]float64, 8), make([]float64, 8)}
	p, _ := NewPPO(DefaultPPOConfig(), DefaultAgg())
	res, _ := p.Compute(dst, bt.input())
	if &res.Grad[0][0] != &dst[0][0] || len(res.Grad[1]) != 5 {
		t.Error("Compute did not reuse dst")
	}
}
