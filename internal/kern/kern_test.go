package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func BenchmarkGELU(b *testing.B) {
	n := 1 << 20
	x, y, t := make([]float32, n), make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for b.Loop() {
		GELU(y, t, x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
}

func BenchmarkTanh(b *testing.B) {
	n := 1 << 20
	x, y := make([]float32, n), make([]float32, n)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for b.Loop() {
		TanhSlice(y, x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
}

// TestVectorKernelsMatchScalar checks the AVX2 paths against math.Tanh and
// the scalar GELU formulas over a sweep, lengths that leave tails, and
// non-finite inputs (NaN must stay NaN so the trainer can stop on it).
func TestVectorKernelsMatchScalar(t *testing.T) {
	var xs []float32
	for x := -20.0; x <= 20; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30)
	for _, n := range []int{len(xs), 7, 8, 9, 17} {
		x := xs[len(xs)-n:]
		got := make([]float32, n)
		TanhSlice(got, x)
		for i, v := range x {
			want := math.Tanh(float64(v))
			if math.IsNaN(want) != math.IsNaN(float64(got[i])) || math.Abs(float64(got[i])-want) > 3e-7 {
				t.Fatalf("n=%d: tanh(%v) = %v, want %v", n, v, got[i], want)
			}
		}
		y, th, dx := make([]float32, n), make([]float32, n), make([]float32, n)
		dy := make([]float32, n)
		for i := range dy {
			dy[i] = float32(i%5) - 2
		}
		GELU(y, th, x)
		GELUBackward(dx, dy, th, x)
		for i, v64 := range x {
			v := float64(v64)
			tt := math.Tanh(GeluC * (v + GeluA*v*v*v))
			wy := 0.5 * v * (1 + tt)
			wd := float64(dy[i]) * (0.5*(1+tt) + 0.5*v*(1-tt*tt)*GeluC*(1+3*GeluA*v*v))
			if math.IsInf(v, 0) || math.IsNaN(v) {
				if !math.IsNaN(v) {
					continue // inf*0 terms: only NaN propagation is checked
				}
				if !math.IsNaN(float64(y[i])) {
					t.Fatalf("gelu(NaN) = %v", y[i])
				}
				continue
			}
			if math.Abs(float64(y[i])-wy) > 2e-6*math.Max(1, math.Abs(wy)) || math.Abs(float64(dx[i])-wd) > 1e-5*math.Max(1, math.Abs(wd)) {
				t.Fatalf("n=%d x=%v: gelu %v (want %v), grad %v (want %v)", n, v, y[i], wy, dx[i], wd)
			}
		}
	}
}

func TestAttnKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, hd := range []int{4, 8, 16, 32, 64} {
		for _, npos := range []int{1, 5, 33} {
			stride := 3 * hd
			q := make([]float32, hd)
			k := make([]float32, npos*stride)
			w := make([]float32, npos)
			for i := range q {
				q[i] = float32(r.NormFloat64())
			}
			for i := range k {
				k[i] = float32(r.NormFloat64())
			}
			for i := range w {
				w[i] = float32(r.Float64())
			}
			got := make([]float32, npos)
			AttnScores(got, q, k, stride, npos, hd, 0.5)
			for p := 0; p < npos; p++ {
				var s float64
				for j := 0; j < hd; j++ {
					s += float64(q[j]) * float64(k[p*stride+j])
				}
				if math.Abs(float64(got[p])-0.5*s) > 1e-5 {
					t.Fatalf("hd=%d npos=%d: score %d = %v, want %v", hd, npos, p, got[p], 0.5*s)
				}
			}
			out := make([]float32, hd)
			out[0] = 1
			AttnMix(out, w, k, stride, npos, hd)
			for j := 0; j < hd; j++ {
				want := 0.0
				if j == 0 {
					want = 1
				}
				for p := 0; p < npos; p++ {
					want += float64(w[p]) * float64(k[p*stride+j])
				}
				if math.Abs(float64(out[j])-want) > 1e-5 {
					t.Fatalf("hd=%d npos=%d: mix %d = %v, want %v", hd, npos, j, out[j], want)
				}
			}
		}
	}
}

func TestSoftmaxVectorPath(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 8, 9, 31, 64, 80} {
		row := make([]float32, n+3)
		for i := range row {
			row[i] = float32(r.NormFloat64() * 30)
		}
		ref := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range row[:n] {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for i := range ref {
			ref[i] = math.Exp(float64(row[i]) - mx)
			sum += ref[i]
		}
		SoftmaxCausal(row, n)
		for i := 0; i < n; i++ {
			if math.Abs(float64(row[i])-ref[i]/sum) > 2e-7*math.Max(1, ref[i]/sum)+1e-30 {
				t.Fatalf("n=%d: p[%d] = %v, want %v", n, i, row[i], ref[i]/sum)
			}
		}
		for _, v := range row[n:] {
			if v != 0 {
				t.Fatalf("n=%d: masked entry %v", n, v)
			}
		}
	}
}

func TestLayerNormVectorPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, d := range []int{8, 16, 128, 12} {
		n := 3
		x, g, b := make([]float32, n*d), make([]float32, d), make([]float32, d)
		for i := range x {
			x[i] = float32(r.NormFloat64()*3 + 1)
		}
		for i := range g {
			g[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		y := make([]float32, n*d)
		mean, rstd := make([]float32, n), make([]float32, n)
		LayerNorm(y, x, g, b, mean, rstd, n, d)
		for i := 0; i < n; i++ {
			var m, v float64
			for j := 0; j < d; j++ {
				m += float64(x[i*d+j])
			}
			m /= float64(d)
			for j := 0; j < d; j++ {
				v += (float64(x[i*d+j]) - m) * (float64(x[i*d+j]) - m)
			}
			rs := 1 / math.Sqrt(v/float64(d)+LNEps)
			if math.Abs(float64(mean[i])-m) > 1e-5 || math.Abs(float64(rstd[i])-rs) > 1e-5*rs {
				t.Fatalf("d=%d row %d: mean %v rstd %v, want %v %v", d, i, mean[i], rstd[i], m, rs)
			}
			for j := 0; j < d; j++ {
				want := (float64(x[i*d+j])-m)*rs*float64(g[j]) + float64(b[j])
				if math.Abs(float64(y[i*d+j])-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("d=%d: y[%d,%d] = %v, want %v", d, i, j, y[i*d+j], want)
				}
			}
		}
	}
}

func TestExpRow64(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 3, 4, 5, 64, 67} {
		src := make([]float64, n)
		for i := range src {
			src[i] = r.NormFloat64() * 20
		}
		src[0] = math.Inf(-1)
		mx := math.Inf(-1)
		for _, v := range src {
			mx = math.Max(mx, v)
		}
		dst := make([]float64, n)
		se, sed := ExpRow64(dst, src, mx, 0.7)
		var we, wed float64
		for i, v := range src {
			d := (v - mx) * 0.7
			e := math.Exp(d)
			if math.Abs(dst[i]-e) > 1e-14*e+1e-300 {
				t.Fatalf("n=%d: exp[%d] = %v, want %v", n, i, dst[i], e)
			}
			if e != 0 {
				we += e
				wed += e * d
			}
		}
		if math.Abs(se-we) > 1e-13*we || math.Abs(sed-wed) > 1e-12*math.Max(1, math.Abs(wed)) {
			t.Fatalf("n=%d: sums %v %v, want %v %v", n, se, sed, we, wed)
		}
	}
	nan := []float64{1, math.NaN(), 0, 2}
	se, _ := ExpRow64(make([]float64, 4), nan, 2, 1)
	if !math.IsNaN(se) {
		t.Fatalf("NaN did not propagate: %v", se)
	}
}
