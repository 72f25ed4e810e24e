package kern

import "math"

// expChunk is how many exponentials the row kernels compute per call to
// ExpExact (two stack buffers of this many float64s).
const expChunk = 256

// ExpExact writes dst[i] = math.Exp(src[i]), bit for bit: on amd64 with
// AVX2 and FMA, four lanes at a time by the same operations as math.Exp's
// own assembly (expexact_amd64.s); lanes off its main path (NaN, ±Inf,
// overflow, underflow to a denormal or zero) and the tail go through
// math.Exp itself. The softmax rows of a 50K vocabulary spend most of their
// time here, and the trajectory goldens require the values math.Exp gives.
func ExpExact(dst, src []float64) {
	dst = dst[:len(src)]
	if !useExactExp {
		for i, x := range src {
			dst[i] = math.Exp(x)
		}
		return
	}
	for i := 0; i < len(src); {
		i += expExactFast(dst[i:], src[i:])
		for end := min(i+4, len(src)); i < end; i++ {
			dst[i] = math.Exp(src[i])
		}
	}
}

// SubExpScaled does d[j] -= float32(c * exp(float64(z[j])*inv - shift)) for
// every j: the softmax part of a logits gradient, with the same roundings
// as that scalar expression (math.Exp through ExpExact).
func SubExpScaled(d, z []float32, inv, shift, c float64) {
	var fb, eb [expChunk]float64
	d = d[:len(z)]
	for i := 0; i < len(z); i += expChunk {
		zc := z[i:min(i+expChunk, len(z))]
		f, e := fb[:len(zc)], eb[:len(zc)]
		for j, x := range zc {
			f[j] = float64(x)*inv - shift
		}
		ExpExact(e, f)
		dc := d[i : i+len(zc)]
		for j := range dc {
			dc[j] -= float32(c * e[j])
		}
	}
}

// ExpShifted writes p[j] = exp(float64(z[j])*inv - shift) and returns their
// sum, accumulated in index order: the same values and the same sum as the
// scalar loop `p[j] = math.Exp(float64(z[j])*inv - shift); sum += p[j]`.
func ExpShifted(p []float64, z []float32, inv, shift float64) (sum float64) {
	p = p[:len(z)]
	for j, x := range z {
		p[j] = float64(x)*inv - shift
	}
	ExpExact(p, p)
	for _, x := range p {
		sum += x
	}
	return sum
}

// ZeroSubExpScaled does d[j] = 0 - float32(c * exp(float64(z[j])*inv - shift)):
// SubExpScaled on a zero d, written over z itself when d is z (each chunk of
// z is read before it is written).
func ZeroSubExpScaled(d, z []float32, inv, shift, c float64) {
	var fb, eb [expChunk]float64
	d = d[:len(z)]
	var zero float32
	for i := 0; i < len(z); i += expChunk {
		zc := z[i:min(i+expChunk, len(z))]
		f, e := fb[:len(zc)], eb[:len(zc)]
		for j, x := range zc {
			f[j] = float64(x)*inv - shift
		}
		ExpExact(e, f)
		dc := d[i : i+len(zc)]
		for j := range dc {
			dc[j] = zero - float32(c*e[j]) // not -x: 0 - (+0) is +0
		}
	}
}
