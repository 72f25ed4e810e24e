package rollout

import "fmt"

// PassAtKKs are the k of a pass@k curve over n samples per problem:
// 1, 2, 4, … up to n, and n itself when it is not a power of two.
func PassAtKKs(n int) []int {
	var ks []int
	for k := 1; k <= n; k *= 2 {
		ks = append(ks, k)
	}
	if n > 0 && ks[len(ks)-1] != n {
		ks = append(ks, n)
	}
	return ks
}

// PassAtKCurve is the mean over problems of the unbiased pass@k (Chen et al.
// 2021) at each k of ks, from n samples per problem of which correct[i] were
// correct for problem i. Each k must be in [1, n].
func PassAtKCurve(n int, correct []int, ks []int) ([]float64, error) {
	if len(correct) == 0 {
		return nil, fmt.Errorf("rollout: pass@k curve of no problems")
	}
	out := make([]float64, len(ks))
	for j, k := range ks {
		var s float64
		for _, c := range correct {
			p, err := PassAtK(n, c, k)
			if err != nil {
				return nil, err
			}
			s += p
		}
		out[j] = s / float64(len(correct))
	}
	return out, nil
}
