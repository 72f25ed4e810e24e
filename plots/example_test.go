package plots_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/entrolab/entrolab/plots"
)

func ExampleFitEntropyReward() {
	// Rewards that follow R = −0.5·exp(H) + 4 exactly.
	H := []float64{2.0, 1.5, 1.0, 0.5}
	R := make([]float64, len(H))
	for i, h := range H {
		R[i] = -0.5*math.Exp(h) + 4
	}
	a, b, r2, err := plots.FitEntropyReward(H, R)
	fmt.Printf("a=%.3f b=%.3f R²=%.3f err=%v\n", a, b, r2, err)
	// Output: a=0.500 b=4.000 R²=1.000 err=<nil>
}

func ExampleWriteAll() {
	run, err := plots.ReadRun(filepath.Join("testdata", "basic"))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := os.MkdirTemp("", "plots-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(out)
	paths, err := plots.WriteAll(out, []*plots.Run{run}, "png")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(run.Label)
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	rows := plots.Summarize([]*plots.Run{run})
	fmt.Printf("a=%.3f b=%.3f steps/s=%.1f\n", rows[0].FitA, rows[0].FitB, rows[0].StepsPerSec)
	// Output:
	// grpo_bonus seed=7
	// entropy.png
	// reward.png
	// entropy_vs_reward.png
	// entropy_delta.png
	// clipfrac.png
	// response_length.png
	// controllers.png
	// pass_at_k.png
	// a=0.500 b=4.000 steps/s=2.0
}
