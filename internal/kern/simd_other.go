//go:build !amd64

package kern

func tanhFast(dst, src []float32) int             { return 0 }
func geluFast(y, t, x []float32) int              { return 0 }
func geluBackwardFast(dx, dy, t, x []float32) int { return 0 }

func attnScoresFast(dst, q, k []float32, stride, npos, hd int, scale float32) bool { return false }
func attnMixFast(out, w, v []float32, stride, npos, hd int) bool                   { return false }

func expSubSumFast(row []float32, mx float32) (int, float32) { return 0, 0 }

func layerNormFast(y, x, g, b, mean, rstd []float32, n, d int) bool { return false }

func expRow64Fast(dst, src []float64, shift, scale float64) (int, float64, float64) { return 0, 0, 0 }

func expExactFast(dst, src []float64) int { return 0 }

const useExactExp = false
