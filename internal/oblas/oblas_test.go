package oblas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func naive(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var x, y float32
				if tA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if tB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += float64(x) * float64(y)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	t.Logf("BLAS in use: %s", Name())
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		ta, tb     bool
		m, n, k    int
		alpha, bet float32
	}{
		{"nn", false, false, 7, 5, 3, 1, 0},
		{"tn", true, false, 9, 4, 6, 0.5, 1},
		{"nt", false, true, 33, 17, 65, 1, 1},
		{"tt", true, true, 5, 12, 8, -1, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lda := tc.k
			if tc.ta {
				lda = tc.m
			}
			ldb := tc.n
			if tc.tb {
				ldb = tc.k
			}
			a := make([]float32, tc.m*tc.k)
			b := make([]float32, tc.k*tc.n)
			c := make([]float32, tc.m*tc.n)
			for i := range a {
				a[i] = r.Float32() - 0.5
			}
			for i := range b {
				b[i] = r.Float32() - 0.5
			}
			for i := range c {
				c[i] = r.Float32() - 0.5
			}
			want := append([]float32(nil), c...)
			naive(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bet, want, tc.n)
			Sgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bet, c, tc.n)
			for i := range c {
				if math.Abs(float64(c[i]-want[i])) > 1e-5 {
					t.Fatalf("Sgemm(%s)[%d] = %v, want %v", tc.name, i, c[i], want[i])
				}
			}
		})
	}
}

func TestCoreTypeFor(t *testing.T) {
	for _, tc := range []struct {
		flags string
		want  string
	}{
		{"sse2 avx avx2 fma avx512f avx512bw avx512vl avx512dq", "SkylakeX"},
		{"sse2 avx avx2 fma", "Haswell"},
		{"sse2 sse3", ""},
	} {
		m := map[string]bool{}
		for _, f := range strings.Fields(tc.flags) {
			m[f] = true
		}
		if got := coreTypeFor(m); got != tc.want {
			t.Errorf("coreTypeFor(%q) = %q, want %q", tc.flags, got, tc.want)
		}
	}
}

// TestBothPaths runs the GEMM check again in a child process with the pure-Go
// BLAS forced, so both paths are exercised in one `go test`.
func TestBothPaths(t *testing.T) {
	if os.Getenv("ENTROLAB_BLAS") != "" {
		t.Skip("child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run", "TestSgemmMatchesNaive|TestName", "-test.v")
	cmd.Env = append(os.Environ(), "ENTROLAB_BLAS=go")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pure-Go BLAS run failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "gonum (pure Go)") {
		t.Fatalf("child did not use the pure-Go BLAS:\n%s", out)
	}
}

func TestName(t *testing.T) {
	n := Name()
	t.Logf("BLAS in use: %s", n)
	if os.Getenv("ENTROLAB_BLAS") == "go" && OpenBLAS() {
		t.Fatalf("ENTROLAB_BLAS=go but OpenBLAS loaded")
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range []struct{ m, k, n int }{{4096, 128, 384}, {64, 32, 64}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			a := make([]float32, s.m*s.k)
			w := make([]float32, s.k*s.n)
			c := make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range w {
				w[i] = float32(i%5) * 0.1
			}
			for b.Loop() {
				Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, w, s.n, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
