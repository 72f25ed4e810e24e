//go:build !cgo

package oblas

import (
	"fmt"

	"github.com/ebitengine/purego"
)

var sgemmP func(order, ta, tb, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)

func openLib(paths []string, oneThread bool) (string, error) {
	var lib uintptr
	var err error
	for _, p := range paths {
		if lib, err = purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			break
		}
	}
	if lib == 0 {
		return "", fmt.Errorf("oblas: libopenblas not found: %v", err)
	}
	has := func(s string) bool { _, err := purego.Dlsym(lib, s); return err == nil }
	if !has("cblas_sgemm") {
		return "", fmt.Errorf("oblas: libopenblas has no cblas_sgemm")
	}
	purego.RegisterLibFunc(&sgemmP, lib, "cblas_sgemm")
	if has("openblas_set_num_threads") && oneThread {
		var thr func(int32)
		purego.RegisterLibFunc(&thr, lib, "openblas_set_num_threads")
		thr(1)
	}
	if has("openblas_get_corename") {
		var cn func() string
		purego.RegisterLibFunc(&cn, lib, "openblas_get_corename")
		return cn(), nil
	}
	return "", nil
}

func callSgemm(ta, tb, m, n, k int, alpha float32, a *float32, lda int, b *float32, ldb int, beta float32, c *float32, ldc int) {
	sgemmP(cblasRowMajor, int32(ta), int32(tb), int32(m), int32(n), int32(k), alpha, a, int32(lda), b, int32(ldb), beta, c, int32(ldc))
}
