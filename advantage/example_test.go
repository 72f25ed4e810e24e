package advantage_test

import (
	"fmt"

	"github.com/entrolab/entrolab/advantage"
)

// Two prompts with two responses each: one right, one wrong per prompt.
// Verl's GRPO gives ±(0.5)/(sqrt(0.5) + 1e-6) to every valid token.
func Example() {
	cfg := advantage.DefaultConfig() // grpo, eps 1e-6, scaled by the std
	est, err := advantage.New(cfg)
	if err != nil {
		panic(err)
	}
	in := advantage.Input{
		Rewards: []float64{1, 0, 0, 1},
		Group:   []int{0, 0, 1, 1},
		Mask:    [][]float64{{1, 1, 0}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}},
	}
	dst := advantage.Alloc(in.Mask)
	if err := est.Estimate(dst, in); err != nil {
		panic(err)
	}
	for _, row := range dst {
		fmt.Printf("%+.4f\n", row)
	}
	// Output:
	// [+0.7071 +0.7071 +0.0000]
	// [-0.7071 -0.7071 -0.7071]
	// [-0.7071 -0.0000 -0.0000]
	// [+0.7071 +0.7071 +0.7071]
}

func ExampleNew_unknown() {
	cfg := advantage.DefaultConfig()
	cfg.Name = "grop"
	_, err := advantage.New(cfg)
	fmt.Println(err)
	// Output:
	// advantage: unknown estimator "grop" (known: aapo, dr_grpo, grpo, hapo, reinforce_pp, reinforce_pp_baseline, rloo)
}
