package clip_test

import (
	"fmt"
	"math"

	"github.com/entrolab/entrolab/clip"
)

// A clip-higher PPO step on two responses of different lengths.
func Example() {
	cfg := clip.DefaultConfig()
	cfg.Name = "ppo_clip_higher" // DAPO: ε_l = 0.2, ε_h = 0.28, c = 10
	loss, err := clip.New(cfg)
	if err != nil {
		panic(err)
	}
	in := clip.Input{
		Logp:    [][]float64{{math.Log(0.5), math.Log(0.9)}, {math.Log(0.2), 0}},
		OldLogp: [][]float64{{math.Log(0.25), math.Log(0.9)}, {math.Log(0.4), 0}},
		Adv:     [][]float64{{1, 1}, {-1, 0}},
		Mask:    [][]float64{{1, 1}, {1, 0}}, // the second response has one token
	}
	res, err := loss.Compute(nil, in)
	if err != nil {
		panic(err)
	}
	// Token 0 has r = 2 > 1.28: clipped, no gradient. Token 1: r = 1, γ = −1.
	// Token 2: A<0 and r = 0.5 < 0.8: clipped. L = (−1.28 − 1 + 0.8)/3.
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad %.4f %.4f\n", res.Grad[0], res.Grad[1])
	fmt.Printf("pg_clipfrac %.4f\n", res.Metrics["pg_clipfrac"])
	// Output:
	// loss -0.4933
	// grad [0.0000 -0.3333] [0.0000 0.0000]
	// pg_clipfrac 0.6667
}
