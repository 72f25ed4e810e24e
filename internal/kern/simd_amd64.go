package kern

import "golang.org/x/sys/cpu"

// The AVX2+FMA kernels in kern_amd64.s handle whole blocks of 8; the Go
// loops finish the tail and serve CPUs without AVX2.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func tanhAVX2(dst, src *float32, n int)

//go:noescape
func geluAVX2(y, t, x *float32, n int)

//go:noescape
func geluBackwardAVX2(dx, dy, t, x *float32, n int)

func tanhFast(dst, src []float32) int {
	n := len(src) &^ 7
	if !haveAVX2 || n == 0 {
		return 0
	}
	tanhAVX2(&dst[0], &src[0], n)
	return n
}

func geluFast(y, t, x []float32) int {
	n := len(x) &^ 7
	if !haveAVX2 || n == 0 {
		return 0
	}
	geluAVX2(&y[0], &t[0], &x[0], n)
	return n
}

func geluBackwardFast(dx, dy, t, x []float32) int {
	n := len(x) &^ 7
	if !haveAVX2 || n == 0 {
		return 0
	}
	geluBackwardAVX2(&dx[0], &dy[0], &t[0], &x[0], n)
	return n
}

//go:noescape
func attnScoresAVX2(dst, q, k *float32, stride, npos, hd int, scale float32)

//go:noescape
func attnMix32AVX2(out, w, v *float32, stride, npos int)

//go:noescape
func attnMix8AVX2(out, w, v *float32, stride, npos, hd int)

func attnScoresFast(dst, q, k []float32, stride, npos, hd int, scale float32) bool {
	if !haveAVX2 || hd%8 != 0 || npos < 1 {
		return false
	}
	_ = k[(npos-1)*stride+hd-1]
	_ = dst[npos-1]
	_ = q[hd-1]
	attnScoresAVX2(&dst[0], &q[0], &k[0], stride, npos, hd, scale)
	return true
}

func attnMixFast(out, w, v []float32, stride, npos, hd int) bool {
	if !haveAVX2 || hd%8 != 0 || npos < 1 {
		return false
	}
	_ = v[(npos-1)*stride+hd-1]
	_ = w[npos-1]
	_ = out[hd-1]
	if hd == 32 {
		attnMix32AVX2(&out[0], &w[0], &v[0], stride, npos)
	} else {
		attnMix8AVX2(&out[0], &w[0], &v[0], stride, npos, hd)
	}
	return true
}

//go:noescape
func expSubSumAVX2(row *float32, n int, mx float32) float32

// expSubSumFast does row[i] = exp(row[i]-mx) for the first multiple of 8
// entries and returns how many it did and their sum.
func expSubSumFast(row []float32, mx float32) (int, float32) {
	n := len(row) &^ 7
	if !haveAVX2 || n == 0 {
		return 0, 0
	}
	return n, expSubSumAVX2(&row[0], n, mx)
}

//go:noescape
func layerNormRowAVX2(y, x, gam, bet *float32, d int, eps float32) (mean, rstd float32)

// layerNormFast normalises the n rows when d allows the vector kernel.
func layerNormFast(y, x, g, b, mean, rstd []float32, n, d int) bool {
	if !haveAVX2 || d%8 != 0 || d == 0 {
		return false
	}
	_ = x[n*d-1]
	_ = y[n*d-1]
	_ = g[d-1]
	_ = b[d-1]
	for i := 0; i < n; i++ {
		m, r := layerNormRowAVX2(&y[i*d], &x[i*d], &g[0], &b[0], d, LNEps)
		if mean != nil {
			mean[i], rstd[i] = m, r
		}
	}
	return true
}

//go:noescape
func expRow64AVX2(dst, src *float64, n int, shift, scale float64) (sumE, sumED float64)

func expRow64Fast(dst, src []float64, shift, scale float64) (int, float64, float64) {
	n := len(src) &^ 3
	if !haveAVX2 || n == 0 {
		return 0, 0, 0
	}
	_ = dst[n-1]
	e, ed := expRow64AVX2(&dst[0], &src[0], n, shift, scale)
	return n, e, ed
}

// useExactExp says expExactAVX2 reproduces math.Exp: math takes its
// AVX+FMA path exactly when the CPU has AVX and FMA (math/exp_amd64.go),
// and the vector form needs AVX2 for its integer lanes.
var useExactExp = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasAVX

//go:noescape
func expExactAVX2(dst, src *float64, n int) int

func expExactFast(dst, src []float64) int {
	n := len(src) &^ 3
	if !useExactExp || n == 0 {
		return 0
	}
	_ = dst[n-1]
	return expExactAVX2(&dst[0], &src[0], n)
}
