package rollout

import (
	"math"
	"slices"
	"testing"
)

func TestPassAtKKs(t *testing.T) {
	for n, want := range map[int][]int{1: {1}, 8: {1, 2, 4, 8}, 64: {1, 2, 4, 8, 16, 32, 64}, 12: {1, 2, 4, 8, 12}, 0: nil} {
		if got := PassAtKKs(n); !slices.Equal(got, want) {
			t.Errorf("PassAtKKs(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestPassAtKCurve(t *testing.T) {
	// n = 4; problems with 0, 4 and 2 correct. pass@2 with c = 2 is
	// 1 - C(2,2)/C(4,2) = 5/6.
	got, err := PassAtKCurve(4, []int{0, 4, 2}, PassAtKKs(4))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, (1 + 5.0/6) / 3, 2.0 / 3}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("curve %v, want %v", got, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("pass@k decreasing in k: %v", got)
		}
	}
	if _, err := PassAtKCurve(4, []int{1}, []int{5}); err == nil {
		t.Error("k > n accepted")
	}
	if _, err := PassAtKCurve(4, nil, []int{1}); err == nil {
		t.Error("no problems accepted")
	}
}
