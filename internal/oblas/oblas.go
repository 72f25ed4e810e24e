// Package oblas gives the project one float32 GEMM: OpenBLAS when the shared
// library can be loaded at run time, gonum's pure-Go BLAS otherwise. Nothing
// is linked at build time, so `go run` works on a machine without OpenBLAS.
//
// OpenBLAS is opened with dlopen: through cgo when the build has cgo (a call
// costs ~0.1 µs and allocates nothing), through purego otherwise (no C
// compiler needed). Before it is opened, and only when
// the user has not set them, OPENBLAS_NUM_THREADS is set to 1 (the callers
// parallelise themselves) and OPENBLAS_CORETYPE is chosen from the CPU's
// features: Debian's OpenBLAS 0.3.21 misdetects recent CPUs and runs its SSE3
// kernels, about 5x slower (SkylakeX with AVX-512, Haswell with AVX2).
//
// Set ENTROLAB_BLAS=go to force the pure-Go path (tests use it to check both).
//
// Matrices are row-major throughout.
package oblas

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

var (
	once    sync.Once
	loaded  bool // OpenBLAS's cblas_sgemm is callable
	name    = "gonum (pure Go)"
	pureGo  gonum.Implementation
	loadErr error
)

// candidates are the sonames tried in order.
var candidates = []string{
	"libopenblas.so.0", "libopenblas.so",
	"/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
	"/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
	"/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
}

// Init loads OpenBLAS if it can; it is safe to call many times.
func Init() { once.Do(load) }

func load() {
	if strings.EqualFold(os.Getenv("ENTROLAB_BLAS"), "go") {
		loadErr = fmt.Errorf("oblas: ENTROLAB_BLAS=go asks for the pure-Go BLAS")
		return
	}
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		loadErr = fmt.Errorf("oblas: no dlopen on %s", runtime.GOOS)
		return
	}
	setDefaultEnv()
	core, err := openLib(candidates, os.Getenv("OPENBLAS_NUM_THREADS") == "1")
	if err != nil {
		loadErr = err
		return
	}
	loaded = true
	name = "OpenBLAS"
	if core != "" {
		name += " (" + core + " kernels)"
	}
}

// setDefaultEnv fills OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS unless the
// user set them.
func setDefaultEnv() {
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		os.Setenv("OPENBLAS_NUM_THREADS", "1")
	}
	if os.Getenv("OPENBLAS_CORETYPE") != "" {
		return
	}
	if ct := coreTypeFor(cpuFlags()); ct != "" {
		os.Setenv("OPENBLAS_CORETYPE", ct)
	}
}

// coreTypeFor maps CPU feature flags (as in /proc/cpuinfo) to the OpenBLAS
// core type whose kernels they can run, or "" to let OpenBLAS decide.
func coreTypeFor(flags map[string]bool) string {
	switch {
	case flags["avx512f"] && flags["avx512bw"] && flags["avx512vl"] && flags["avx512dq"]:
		return "SkylakeX"
	case flags["avx2"] && flags["fma"]:
		return "Haswell"
	}
	return ""
}

func cpuFlags() map[string]bool {
	m := map[string]bool{}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "flags") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				for _, f := range strings.Fields(line[i+1:]) {
					m[f] = true
				}
			}
			break
		}
	}
	return m
}

// Name says which BLAS is in use, e.g. "OpenBLAS (SkylakeX kernels)".
func Name() string { Init(); return name }

// OpenBLAS reports whether OpenBLAS is in use.
func OpenBLAS() bool { Init(); return loaded }

// LoadError says why OpenBLAS is not in use (nil when it is).
func LoadError() error { Init(); return loadErr }

// Sgemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// op(X) = X or X^T. A is m x k after op, B is k x n after op, C is m x n.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	Init()
	if !loaded || k == 0 {
		ta, tb := blas.NoTrans, blas.NoTrans
		if transA {
			ta = blas.Trans
		}
		if transB {
			tb = blas.Trans
		}
		pureGo.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := cblasNoTrans, cblasNoTrans
	if transA {
		ta = cblasTrans
	}
	if transB {
		tb = cblasTrans
	}
	callSgemm(ta, tb, m, n, k, alpha, &a[0], lda, &b[0], ldb, beta, &c[0], ldc)
}

// Implementation is a full gonum BLAS whose Sgemm goes through Sgemm above;
// it is what gorgonia.Use receives, so gorgonia's own matmuls use it too.
type Implementation struct{ gonum.Implementation }

// Sgemm implements blas.Float32Level3.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
