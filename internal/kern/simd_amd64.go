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
