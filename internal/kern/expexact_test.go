package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpExactIsMathExp checks ExpExact against math.Exp bit for bit, over
// random arguments of every scale and the edges of math.Exp's paths
// (overflow bound, denormal results, underflow, NaN, ±Inf, ±0).
func TestExpExactIsMathExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var src []float64
	for i := 0; i < 200000; i++ {
		switch i % 4 {
		case 0:
			src = append(src, r.NormFloat64()*3)
		case 1:
			src = append(src, -r.Float64()*30)
		case 2:
			src = append(src, (r.Float64()*2-1)*760)
		default:
			src = append(src, math.Float64frombits(r.Uint64()))
		}
	}
	edges := []float64{0, math.Copysign(0, -1), 1, -1, 7.09782712893384e+02, 7.09782712893385e+02, 709.7, 709.79, -708.39, -708.4, -709.08, -709.09, -745.13, -745.14, -800, 1e-300, -1e-300, 5e-324,
		math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, -math.MaxFloat64, 1023 * math.Ln2, -1022 * math.Ln2, -1023 * math.Ln2, 0.5 * math.Ln2}
	for _, e := range edges { // each edge in every lane of a block
		for l := 0; l < 4; l++ {
			b := []float64{0.1, -0.2, 0.3, -0.4}
			b[l] = e
			src = append(src, b...)
			src = append(src, math.Nextafter(e, math.Inf(1)), math.Nextafter(e, math.Inf(-1)))
		}
	}
	for _, n := range []int{len(src), len(src) - 1, 3, 0} {
		dst := make([]float64, n)
		ExpExact(dst, src[:n])
		for i, x := range src[:n] {
			if want := math.Exp(x); math.Float64bits(dst[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(dst[i])) {
				t.Fatalf("n=%d: ExpExact(%v) = %v (%#x), math.Exp = %v (%#x)", n, x, dst[i], math.Float64bits(dst[i]), want, math.Float64bits(want))
			}
		}
	}
}

// rowStatsScalar is RowStats as it was before ExpExact: the reference the
// trajectory goldens were made with.
func rowStatsScalar(z []float32, inv float64, target int32) (logp, ent, lse float64) {
	mx := math.Inf(-1)
	for _, x := range z {
		if f := float64(x) * inv; f > mx {
			mx = f
		}
	}
	var s, sz float64
	for _, x := range z {
		f := float64(x)*inv - mx
		e := math.Exp(f)
		s += e
		sz += e * f
	}
	ls := math.Log(s)
	lse = mx + ls
	ent = ls - sz/s
	if target >= 0 {
		logp = float64(z[target])*inv - lse
	}
	return
}

func TestRowKernelsMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range []int{2, 5, 64, 255, 256, 257, 1000, 50257} {
		for _, scale := range []float64{0.02, 1, 30, 300} {
			z := make([]float32, v)
			for i := range z {
				z[i] = float32(r.NormFloat64() * scale)
			}
			for _, inv := range []float64{1, 1 / 0.7, 1 / 1.3} {
				tg := int32(r.IntN(v))
				a, b, c := RowStats(z, inv, tg)
				x, y, w := rowStatsScalar(z, inv, tg)
				if a != x || b != y || c != w {
					t.Fatalf("V=%d scale=%v inv=%v: RowStats = %v %v %v, scalar %v %v %v", v, scale, inv, a, b, c, x, y, w)
				}
				d1, d2 := make([]float32, v), make([]float32, v)
				for i := range d1 {
					d1[i] = float32(r.NormFloat64())
					d2[i] = d1[i]
				}
				cc := r.NormFloat64()
				SubExpScaled(d1, z, inv, c, cc)
				for j, x := range z {
					d2[j] -= float32(cc * math.Exp(float64(x)*inv-c))
				}
				zz := append([]float32(nil), z...)
				ZeroSubExpScaled(zz, zz, inv, c, cc)
				for j, x := range z {
					var zero float32
					if want := zero - float32(cc*math.Exp(float64(x)*inv-c)); math.Float32bits(zz[j]) != math.Float32bits(want) {
						t.Fatalf("ZeroSubExpScaled in place [%d] = %v, want %v", j, zz[j], want)
					}
				}
				p := make([]float64, v)
				sum := ExpShifted(p, z, inv, c)
				var sum2 float64
				for j, x := range z {
					e := math.Exp(float64(x)*inv - c)
					if p[j] != e {
						t.Fatalf("ExpShifted[%d] = %v, want %v", j, p[j], e)
					}
					sum2 += e
				}
				if sum != sum2 {
					t.Fatalf("ExpShifted sum %v, want %v", sum, sum2)
				}
				for j := range d1 {
					if math.Float32bits(d1[j]) != math.Float32bits(d2[j]) {
						t.Fatalf("SubExpScaled[%d] = %v, want %v", j, d1[j], d2[j])
					}
				}
			}
		}
	}
}

func BenchmarkRowStats50K(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	z := make([]float32, 50257)
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			RowStats(z, 1, 3)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			rowStatsScalar(z, 1, 3)
		}
	})
}

// TestExpExactVectorPath makes sure the four-lane path runs where it should
// (so the bit-for-bit test above tests it, not only math.Exp).
func TestExpExactVectorPath(t *testing.T) {
	if !useExactExp {
		t.Skip("no AVX2+FMA: ExpExact is math.Exp")
	}
	src := make([]float64, 64)
	for i := range src {
		src[i] = -float64(i) / 3
	}
	if n := expExactFast(make([]float64, 64), src); n != 64 {
		t.Fatalf("vector path did %d of 64 normal arguments", n)
	}
	src[9] = -800 // underflow: the block 8..11 goes to math.Exp
	if n := expExactFast(make([]float64, 64), src); n != 8 {
		t.Fatalf("vector path stopped after %d, want 8", n)
	}
}
