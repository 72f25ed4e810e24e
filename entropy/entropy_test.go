package entropy

import (
	"github.com/entrolab/entrolab/pg"
	"math"
	"math/rand/v2"
	"testing"
)

// slowEntropy is the obvious version: softmax, then −Σ p log p.
func slowEntropy(row []float64, tau float64) float64 {
	m := math.Inf(-1)
	for _, z := range row {
		m = math.Max(m, z/tau)
	}
	s := 0.0
	for _, z := range row {
		s += math.Exp(z/tau - m)
	}
	h := 0.0
	for _, z := range row {
		p := math.Exp(z/tau-m) / s
		if p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}

func randLogits(r *rand.Rand, b, t, v int, scale float64) [][][]float64 {
	out := make([][][]float64, b)
	for i := range out {
		out[i] = make([][]float64, t)
		for j := range out[i] {
			out[i][j] = make([]float64, v)
			for k := range out[i][j] {
				out[i][j][k] = scale * r.NormFloat64()
			}
		}
	}
	return out
}

func randMask(r *rand.Rand, b, t int) [][]float64 {
	m := make([][]float64, b)
	for i := range m {
		m[i] = make([]float64, t)
		n := 1 + r.IntN(t)
		for j := 0; j < n; j++ {
			m[i][j] = 1
		}
	}
	return m
}

func TestUniformEntropyIsLogV(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    int
		z    float64
		tau  float64
	}{
		{"V2", 2, 0, 1},
		{"V10_shifted", 10, 3.7, 1},
		{"V64_T0.3", 64, -12, 0.3},
		{"V1000_T5", 1000, 1e6, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := make([]float64, tc.v)
			for i := range row {
				row[i] = tc.z
			}
			want := math.Log(float64(tc.v))
			if got := TokenEntropy(row, tc.tau); math.Abs(got-want) > 1e-12 {
				t.Errorf("TokenEntropy(uniform V=%d) = %v, want log V = %v", tc.v, got, want)
			}
			g := make([]float64, tc.v)
			TokenEntropyGrad(g, row, tc.tau)
			for v, x := range g {
				if math.Abs(x) > 1e-12 {
					t.Fatalf("TokenEntropyGrad(uniform)[%d] = %v, want 0 (maximum)", v, x)
				}
			}
		})
	}
}

func TestTokenEntropyMatchesSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		v := 2 + r.IntN(40)
		row := randLogits(r, 1, 1, v, 3)[0][0]
		tau := 0.2 + 2*r.Float64()
		got, want := TokenEntropy(row, tau), slowEntropy(row, tau)
		if math.Abs(got-want) > 1e-12*(1+want) {
			t.Fatalf("TokenEntropy(%v, %v) = %v, slow %v", row, tau, got, want)
		}
	}
}

func TestNegInfLogitsCountZero(t *testing.T) {
	inf := math.Inf(-1)
	row := []float64{0, inf, 0, inf}
	if got := TokenEntropy(row, 1); math.Abs(got-math.Log(2)) > 1e-15 {
		t.Errorf("TokenEntropy(with −Inf) = %v, want log 2", got)
	}
	g := make([]float64, 4)
	TokenEntropyGrad(g, row, 1)
	for v, x := range g {
		if math.IsNaN(x) || math.Abs(x) > 1e-15 {
			t.Errorf("TokenEntropyGrad(with −Inf)[%d] = %v, want 0", v, x)
		}
	}
}

// TestEntropyGradFiniteDifference checks ∂H/∂z against central differences.
func TestEntropyGradFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tau := range []float64{0.4, 1, 2.5} {
		row := randLogits(r, 1, 1, 12, 2)[0][0]
		g := make([]float64, len(row))
		TokenEntropyGrad(g, row, tau)
		sum := 0.0
		for v := range row {
			sum += g[v]
			fd := finiteDiff(row, v, func() float64 { return TokenEntropy(row, tau) })
			if math.Abs(fd-g[v]) > 1e-7 {
				t.Errorf("∂H/∂z[%d] (τ=%v) = %v, finite difference %v", v, tau, g[v], fd)
			}
		}
		if math.Abs(sum) > 1e-13 {
			t.Errorf("Σ ∂H/∂z (τ=%v) = %v, want 0", tau, sum)
		}
	}
}

func finiteDiff(x []float64, i int, f func() float64) float64 {
	const h = 1e-5
	x0 := x[i]
	x[i] = x0 + h
	fp := f()
	x[i] = x0 - h
	fm := f()
	x[i] = x0
	return (fp - fm) / (2 * h)
}

// TestRegularizerGradFiniteDifference checks every built-in regularizer's
// logits gradient against central differences of its loss.
func TestRegularizerGradFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := randLogits(r, 3, 4, 10, 1.5)
	mask := randMask(r, 3, 4)
	mask[1] = []float64{0, 0, 0, 0} // an empty row
	cases := map[string]func(*Config){
		"none":           func(*Config) {},
		"bonus":          func(c *Config) { c.Bonus.Coef = 0.3; c.Bonus.Agg = SeqMeanTokenMean },
		"bonus_masked":   func(c *Config) { c.Name = "bonus"; c.Bonus.Coef = 0.3; c.Bonus.TopEntropyQuantile = 0.4 },
		"adaptive_bonus": func(c *Config) { c.Bonus.Coef = 0.1 },
		"aent":           func(c *Config) { c.AEnt.Coef = 0.7; c.AEnt.Clamp = 0.3 },
		"em":             func(c *Config) { c.EM.Agg = SeqMeanTokenSum },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = name
			edit(&cfg)
			reg, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tu, ok := reg.(Tunable); ok && name == "adaptive_bonus" {
				tu.SetCoef(0.2)
			}
			in := Input{Logits: logits, Mask: mask, Temperature: 0.8}
			out, err := reg.Regularize(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				o, err := reg.Regularize(nil, in)
				if err != nil {
					t.Fatal(err)
				}
				return o.Loss
			}
			for b := range logits {
				for p := range logits[b] {
					for v := range logits[b][p] {
						fd := finiteDiff(logits[b][p], v, loss)
						if math.Abs(fd-out.Grad[b][p][v]) > 1e-8 {
							t.Fatalf("%s: grad[%d][%d][%d] = %v, finite difference %v", name, b, p, v, out.Grad[b][p][v], fd)
						}
					}
				}
			}
		})
	}
}

// TestPolicyLossGradFiniteDifference checks ∂L/∂logp of the logp losses.
func TestPolicyLossGradFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const B, T = 3, 5
	mk := func(f func() float64) [][]float64 {
		x := make([][]float64, B)
		for b := range x {
			x[b] = make([]float64, T)
			for i := range x[b] {
				x[b][i] = f()
			}
		}
		return x
	}
	logp := mk(func() float64 { return -0.05 - 2*r.Float64() })
	old := mk(func() float64 { return -0.05 - 2*r.Float64() })
	adv := mk(func() float64 { return r.NormFloat64() })
	ent := mk(func() float64 { return 3 * r.Float64() })
	mask := randMask(r, B, T)
	for _, name := range PolicyLossNames() {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultPolicyConfig()
			cfg.Name = name
			loss, err := NewPolicyLoss(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Weights are detached: freeze STEER's Ω at the base point, as
			// autograd does, by giving the finite difference a fixed estimate.
			in := pg.Input{Logp: logp, OldLogp: old, Adv: adv, Mask: mask, OldEntropy: ent}
			out, err := loss.Compute(nil, in)
			if err != nil {
				t.Fatal(err)
			}
			grad := out.Grad
			for b := range logp {
				for i := range logp[b] {
					var fd float64
					if s, ok := loss.(*Steer); ok {
						w := s.weights
						frozen := &frozenSteer{s: s, w: cloneRows(w)}
						fd = finiteDiff(logp[b], i, func() float64 { return frozen.loss(in) })
					} else {
						fd = finiteDiff(logp[b], i, func() float64 {
							o, _ := loss.Compute(nil, in)
							return o.Loss
						})
					}
					if math.Abs(fd-grad[b][i]) > 1e-8 {
						t.Errorf("%s: ∂L/∂logp[%d][%d] = %v, finite difference %v", name, b, i, grad[b][i], fd)
					}
				}
			}
		})
	}
}

type frozenSteer struct {
	s *Steer
	w [][]float64
}

// loss recomputes STEER's loss with the weights held fixed.
func (f *frozenSteer) loss(in pg.Input) float64 {
	p := f.s.ppo()
	a := newAggregator(f.s.Cfg.Agg.Mode, in.Mask, f.s.Cfg.Agg.ScaleFactor)
	l := 0.0
	for b, row := range in.Mask {
		for i, m := range row {
			if m != 0 {
				l += a.weight(b, m) * f.w[b][i] * p.token(in.Logp[b][i], in.OldLogp[b][i], in.Adv[b][i]).pg
			}
		}
	}
	return l
}

func cloneRows(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = append([]float64(nil), x[i]...)
	}
	return out
}

func TestBackpropLogpFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	logits := randLogits(r, 2, 3, 7, 1)
	actions := [][]int{{0, 3, 6}, {2, 2, 5}}
	g := [][]float64{{0.3, -1, 0}, {2, 0.5, -0.7}}
	tau := 1.3
	grad := BackpropLogp(nil, g, logits, actions, tau)
	for b := range logits {
		for p := range logits[b] {
			for v := range logits[b][p] {
				fd := finiteDiff(logits[b][p], v, func() float64 {
					return g[b][p] * LogProb(logits[b][p], actions[b][p], tau)
				})
				if math.Abs(fd-grad[b][p][v]) > 1e-8 {
					t.Fatalf("BackpropLogp[%d][%d][%d] = %v, finite difference %v", b, p, v, grad[b][p][v], fd)
				}
			}
		}
	}
}

// TestDstReuse: a second call with the returned dst reuses its storage.
func TestDstReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	logits := randLogits(r, 2, 3, 5, 1)
	mask := randMask(r, 2, 3)
	reg := NewBonus(BonusConfig{Coef: 1, Agg: TokenMean, TopEntropyQuantile: 1})
	in := Input{Logits: logits, Mask: mask, Temperature: 1}
	out, _ := reg.Regularize(nil, in)
	first := &out.Grad[0][0][0]
	out2, _ := reg.Regularize(out.Grad, in)
	if &out2.Grad[0][0][0] != first {
		t.Error("Regularize allocated a new dst although the old one fitted")
	}
	allocs := testing.AllocsPerRun(10, func() { _, _ = reg.Regularize(out.Grad, in) })
	if allocs > 2 {
		t.Errorf("Regularize with a fitting dst: %v allocations per call, want ≤ 2 (the metrics map)", allocs)
	}
}

func TestTemperatureMustBePositive(t *testing.T) {
	for _, name := range Names() {
		cfg := DefaultConfig()
		cfg.Name = name
		reg, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if name == "none" {
			continue
		}
		_, err = reg.Regularize(nil, Input{Logits: [][][]float64{{{0, 1}}}, Mask: [][]float64{{1}}, Temperature: 0})
		if err == nil {
			t.Errorf("%s: Regularize(τ = 0) gave no error", name)
		}
	}
}

// TestLargeVocabExactExp: above 256 logits TokenEntropy and LogProb take
// math.Exp's values four at a time; they must equal the scalar loops bit
// for bit (an infinite logit included).
func TestLargeVocabExactExp(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, v := range []int{257, 1000, 50257} {
		row := randLogits(r, 1, 1, v, 3)[0][0]
		for _, inf := range []bool{false, true} {
			if inf {
				row[v/2] = math.Inf(-1)
			}
			for _, tau := range []float64{1, 0.8} {
				zmax := rowMax(row)
				inv := 1 / tau
				var s, a, s2 float64
				for _, z := range row {
					d := (z - zmax) * inv
					e := math.Exp(d)
					s2 += e
					if e == 0 {
						continue
					}
					s += e
					a += e * d
				}
				if got, want := TokenEntropy(row, tau), math.Log(s)-a/s; got != want {
					t.Fatalf("V=%d tau=%v: TokenEntropy = %v, scalar %v", v, tau, got, want)
				}
				if got, want := LogProb(row, 3, tau), (row[3]-zmax)*inv-math.Log(s2); got != want {
					t.Fatalf("V=%d tau=%v: LogProb = %v, scalar %v", v, tau, got, want)
				}
			}
		}
	}
}
