// Package kern holds the float32 kernels shared by the training graph
// (policy) and the sampler (rollout): LayerNorm, GELU, linear layers, causal
// attention, and the head's log-softmax statistics. Keeping one copy means
// the two paths compute the same numbers.
package kern

import (
	"math"

	"github.com/entrolab/entrolab/internal/oblas"
)

// The kernels below are plain Go over row-major float32 slices. The gorgonia
// ops in ops.go wrap them for training, and the rollout engine calls the
// forward ones directly, so the two paths compute the same numbers.

const LNEps = 1e-5

// LayerNorm writes y = (x - mean) / sqrt(var + eps) * g + b for each of the
// n rows of x (width d), and saves mean and 1/std per row for the backward.
func LayerNorm(y, x, g, b []float32, mean, rstd []float32, n, d int) {
	if n == 0 || layerNormFast(y, x, g, b, mean, rstd, n, d) {
		return
	}
	inv := 1 / float32(d)
	for i := 0; i < n; i++ {
		row := x[i*d : i*d+d]
		var s float32
		for _, v := range row {
			s += v
		}
		m := s * inv
		var vs float32
		for _, v := range row {
			c := v - m
			vs += c * c
		}
		r := 1 / float32(math.Sqrt(float64(vs*inv+LNEps)))
		if mean != nil {
			mean[i], rstd[i] = m, r
		}
		out := y[i*d : i*d+d]
		for j, v := range row {
			out[j] = (v-m)*r*g[j] + b[j]
		}
	}
}

// LayerNormBackward writes dx for rows of x and adds into dg and db.
//
//	xhat = (x-mean)*rstd, gh = dy*g
//	dx = rstd * (gh - mean(gh) - xhat*mean(gh*xhat))
func LayerNormBackward(dx, dg, db, dy, x, g, mean, rstd []float32, n, d int) {
	inv := 1 / float32(d)
	for i := 0; i < n; i++ {
		m, r := mean[i], rstd[i]
		xr := x[i*d : i*d+d]
		dyr := dy[i*d : i*d+d]
		var s1, s2 float32
		for j, v := range dyr {
			xh := (xr[j] - m) * r
			gh := v * g[j]
			s1 += gh
			s2 += gh * xh
			dg[j] += v * xh
			db[j] += v
		}
		s1 *= inv
		s2 *= inv
		dxr := dx[i*d : i*d+d]
		for j, v := range dyr {
			xh := (xr[j] - m) * r
			dxr[j] = r * (v*g[j] - s1 - xh*s2)
		}
	}
}

const (
	GeluC = 0.7978845608028654 // sqrt(2/pi)
	GeluA = 0.044715
)

// Tanh32 is tanh in float32 by a rational approximation (the one Eigen
// uses), within a few ulp over the whole line and far faster than math.Tanh.
func Tanh32(x float32) float32 {
	var v [1]float32
	TanhSlice(v[:], []float32{x})
	return v[0]
}

// TanhSlice writes dst[i] = tanh(src[i]); the polynomial is written out in
// the loop so that the compiler keeps it in registers (Tanh32 is too big to
// inline).
func TanhSlice(dst, src []float32) {
	const clamp = 7.90531110763549805
	dst = dst[:len(src)]
	done := tanhFast(dst, src)
	for i := done; i < len(src); i++ {
		x := src[i]
		if x >= 9 { // float32 tanh is exactly ±1 out here
			dst[i] = 1
			continue
		} else if x <= -9 {
			dst[i] = -1
			continue
		}
		if x > clamp {
			x = clamp
		} else if x < -clamp {
			x = -clamp
		}
		x2 := x * x
		p := float32(-2.76076847742355e-16)
		p = p*x2 + 2.00018790482477e-13
		p = p*x2 + -8.60467152213735e-11
		p = p*x2 + 5.12229709037114e-08
		p = p*x2 + 1.48572235717979e-05
		p = p*x2 + 6.37261928875436e-04
		p = p*x2 + 4.89352455891786e-03
		q := float32(1.19825839466702e-06)
		q = q*x2 + 1.18534705686654e-04
		q = q*x2 + 2.26843463243900e-03
		q = q*x2 + 4.89352518554385e-03
		dst[i] = p * x / q
	}
}

// GELU writes y = 0.5 x (1 + tanh(c (x + a x^3))), GPT-2's tanh GELU, and
// keeps the tanh values in t for the backward.
func GELU(y, t, x []float32) {
	t = t[:len(x)]
	y = y[:len(x)]
	done := geluFast(y, t, x)
	for i := done; i < len(x); i++ {
		v := x[i]
		t[i] = GeluC * (v + GeluA*v*v*v)
	}
	TanhSlice(t[done:], t[done:])
	for i := done; i < len(x); i++ {
		y[i] = 0.5 * x[i] * (1 + t[i])
	}
}

// GELUBackward writes dx = dy * gelu'(x) from the saved tanh values t:
//
//	gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
func GELUBackward(dx, dy, t, x []float32) {
	dx = dx[:len(x)]
	dy = dy[:len(x)]
	t = t[:len(x)]
	done := geluBackwardFast(dx, dy, t, x)
	for i := done; i < len(x); i++ {
		v := x[i]
		ti := t[i]
		dx[i] = dy[i] * (0.5*(1+ti) + 0.5*v*(1-ti*ti)*GeluC*(1+3*GeluA*v*v))
	}
}

// Linear writes y = x w + b: x is n x in, w is in x out (GPT-2's Conv1D
// layout), b has out entries (nil for none).
func Linear(y, x, w, b []float32, n, in, out int) {
	if b != nil {
		for i := 0; i < n; i++ {
			copy(y[i*out:i*out+out], b)
		}
		oblas.Sgemm(false, false, n, out, in, 1, x, in, w, out, 1, y, out)
		return
	}
	oblas.Sgemm(false, false, n, out, in, 1, x, in, w, out, 0, y, out)
}

// Attention is causal multi-head self-attention for one sequence of t
// positions. qkv is t x 3d (q, k, v side by side, head h in columns
// h*hd..), out is t x d, p receives the h attention matrices (h x t x t),
// and scores is scratch of t x t.
func Attention(out, p, qkv []float32, t, d, nh int) {
	hd := d / nh
	ld := 3 * d
	scale := float32(1 / math.Sqrt(float64(hd)))
	for h := 0; h < nh; h++ {
		ph := p[h*t*t : (h+1)*t*t]
		q := qkv[h*hd:]
		k := qkv[d+h*hd:]
		v := qkv[2*d+h*hd:]
		// S = scale * Q K^T
		oblas.Sgemm(false, true, t, t, hd, scale, q, ld, k, ld, 0, ph, t)
		for i := 0; i < t; i++ {
			row := ph[i*t : i*t+t]
			SoftmaxCausal(row, i+1)
		}
		oblas.Sgemm(false, false, t, hd, t, 1, ph, t, v, ld, 0, out[h*hd:], d)
	}
}

// SoftmaxCausal normalises row[:n] in place and zeroes row[n:].
func SoftmaxCausal(row []float32, n int) {
	mx := row[0]
	for _, v := range row[1:n] {
		if v > mx {
			mx = v
		}
	}
	done, s := expSubSumFast(row[:n], mx)
	for j := done; j < n; j++ {
		e := Exp32(row[j] - mx)
		row[j] = e
		s += e
	}
	inv := 1 / s
	for j := 0; j < n; j++ {
		row[j] *= inv
	}
	clear(row[n:])
}

// AttentionBackward writes dqkv (t x 3d) from dout (t x d), the saved
// probabilities p and qkv. dp is scratch of t x t.
//
//	dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = s dS K, dK = s dS^T Q
func AttentionBackward(dqkv, dout, p, qkv, dp []float32, t, d, nh int) {
	hd := d / nh
	ld := 3 * d
	scale := float32(1 / math.Sqrt(float64(hd)))
	for h := 0; h < nh; h++ {
		ph := p[h*t*t : (h+1)*t*t]
		q := qkv[h*hd:]
		k := qkv[d+h*hd:]
		v := qkv[2*d+h*hd:]
		do := dout[h*hd:]
		oblas.Sgemm(true, false, t, hd, t, 1, ph, t, do, d, 0, dqkv[2*d+h*hd:], ld)
		oblas.Sgemm(false, true, t, t, hd, 1, do, d, v, ld, 0, dp, t)
		for i := 0; i < t; i++ {
			pr := ph[i*t : i*t+i+1]
			dr := dp[i*t : i*t+t]
			var s float32
			for j, pv := range pr {
				s += pv * dr[j]
			}
			for j, pv := range pr {
				dr[j] = pv * (dr[j] - s) * scale
			}
			clear(dr[i+1:])
		}
		oblas.Sgemm(false, false, t, hd, t, 1, dp, t, k, ld, 0, dqkv[h*hd:], ld)
		oblas.Sgemm(true, false, t, hd, t, 1, dp, t, q, ld, 0, dqkv[d+h*hd:], ld)
	}
}

// Exp32 is e^x in float32 for x <= 0 (softmax arguments), by range
// reduction to 2^k * e^r with a degree-6 polynomial; relative error < 2e-7.
func Exp32(x float32) float32 {
	if x < -87 {
		return 0
	}
	const log2e = 1.44269504088896341
	const ln2hi = 0.693359375
	const ln2lo = -2.12194440e-4
	// x <= 0, so truncating x*log2e - 0.5 toward zero rounds to nearest
	k := float32(int32(x*log2e - 0.5))
	r := x - k*ln2hi - k*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := p*r*r + r + 1
	return e * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// Sgemm is oblas.Sgemm with alpha 1: c = op(a) op(b) + beta c.
func Sgemm(ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	oblas.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// RowStats returns log softmax(z*inv)[target] (0 when target < 0), the
// entropy of softmax(z*inv), and its log-sum-exp. Computed in float64; the
// rollout engine uses the same function, so both paths agree exactly.
func RowStats(z []float32, inv float64, target int32) (logp, ent, lse float64) {
	mx := math.Inf(-1)
	for _, x := range z {
		if f := float64(x) * inv; f > mx {
			mx = f
		}
	}
	var s, sz float64
	var fb, eb [expChunk]float64
	for i := 0; i < len(z); i += expChunk {
		zc := z[i:min(i+expChunk, len(z))]
		f, e := fb[:len(zc)], eb[:len(zc)]
		for j, x := range zc {
			f[j] = float64(x)*inv - mx
		}
		ExpExact(e, f) // math.Exp's values, four at a time
		for j, ej := range e {
			s += ej
			sz += ej * f[j]
		}
	}
	ls := math.Log(s)
	lse = mx + ls
	// H = -sum p (f - ls) = ls - sum(p f)
	ent = ls - sz/s
	if target >= 0 {
		logp = float64(z[target])*inv - lse
	}
	return
}

// AttnScores writes dst[p] = scale * q·k_p for the npos cached keys k_p =
// k[p*stride : p*stride+hd] (one head of a KV cache).
func AttnScores(dst, q, k []float32, stride, npos, hd int, scale float32) {
	if attnScoresFast(dst, q, k, stride, npos, hd, scale) {
		return
	}
	for p := 0; p < npos; p++ {
		kp := k[p*stride : p*stride+hd]
		var s float32
		for j, x := range q[:hd] {
			s += x * kp[j]
		}
		dst[p] = scale * s
	}
}

// AttnMix adds sum_p w[p] * v_p into out[:hd], v_p = v[p*stride : p*stride+hd].
func AttnMix(out, w, v []float32, stride, npos, hd int) {
	if attnMixFast(out, w, v, stride, npos, hd) {
		return
	}
	for p := 0; p < npos; p++ {
		vp := v[p*stride : p*stride+hd]
		wp := w[p]
		for j := range out[:hd] {
			out[j] += wp * vp[j]
		}
	}
}

// ExpRow64 writes dst[i] = exp(d_i), d_i = (src[i] - shift) * scale, for a
// float64 row and returns sum(dst) and sum(dst * d). With shift the row's
// maximum and scale 1/τ this is the softmax numerator, its normaliser and
// the entropy's cross term in one pass (AVX2, 4 lanes; exp accurate to a
// few ulp; below d = -708 the result is exactly 0, like a float64 exp
// that has underflowed, so callers may skip zero entries as before).
func ExpRow64(dst, src []float64, shift, scale float64) (sumE, sumED float64) {
	done, sumE, sumED := expRow64Fast(dst, src, shift, scale)
	for i := done; i < len(src); i++ {
		d := (src[i] - shift) * scale
		e := 0.0
		if d >= -708 || d != d {
			e = math.Exp(d)
		}
		dst[i] = e
		if e != 0 {
			sumE += e
			sumED += e * d
		}
	}
	return sumE, sumED
}
