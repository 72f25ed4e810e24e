package masked

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNthSmallestMatchesSort checks the branch-free quickselect against a
// full sort, with many ties.
func TestNthSmallestMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + r.IntN(70)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(7)) // ties
			if trial%2 == 0 {
				x[i] = r.NormFloat64()
			}
		}
		k := r.IntN(n)
		want := slices.Clone(x)
		slices.Sort(want)
		if got := NthSmallest(slices.Clone(x), k); got != want[k] {
			t.Fatalf("NthSmallest(%v, %d) = %v, want %v", x, k, got, want[k])
		}
	}
}
