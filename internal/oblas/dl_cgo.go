//go:build cgo

package oblas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef char* (*corename_fn)(void);
typedef void (*threads_fn)(int);

static sgemm_fn p_sgemm;

static int ob_open(const char* path, int one_thread, char** core) {
	void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!h) return 0;
	p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!p_sgemm) return -1;
	threads_fn thr = (threads_fn)dlsym(h, "openblas_set_num_threads");
	if (thr && one_thread) thr(1);
	corename_fn cn = (corename_fn)dlsym(h, "openblas_get_corename");
	*core = cn ? cn() : 0;
	return 1;
}

static void ob_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float* a, int lda,
	const float* b, int ldb, float beta, float* c, int ldc) {
	p_sgemm(101, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func openLib(paths []string, oneThread bool) (string, error) {
	one := C.int(0)
	if oneThread {
		one = 1
	}
	for _, p := range paths {
		cp := C.CString(p)
		var core *C.char
		r := C.ob_open(cp, one, &core)
		C.free(unsafe.Pointer(cp))
		switch r {
		case 1:
			if core == nil {
				return "", nil
			}
			return C.GoString(core), nil
		case -1:
			return "", fmt.Errorf("oblas: %s has no cblas_sgemm", p)
		}
	}
	return "", fmt.Errorf("oblas: libopenblas not found (tried %v)", paths)
}

func callSgemm(ta, tb, m, n, k int, alpha float32, a *float32, lda int, b *float32, ldb int, beta float32, c *float32, ldc int) {
	C.ob_sgemm(C.int(ta), C.int(tb), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(a)), C.int(lda), (*C.float)(unsafe.Pointer(b)), C.int(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(c)), C.int(ldc))
}
