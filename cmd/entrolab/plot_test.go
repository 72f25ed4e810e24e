package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlotSmoothAndBandsStated runs `entrolab plot` on two hand-made seeds
// of one config with --smooth 5 and checks the SVG figures say so: axes in
// words, the rolling-mean window and what the band is.
func TestPlotSmoothAndBandsStated(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for seed := 1; seed <= 2; seed++ {
		dir := filepath.Join(root, fmt.Sprintf("grpo-s%d", seed))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf("name: grpo_addition\nseed: %d\n", seed)), 0o644)
		var b strings.Builder
		for s := 1; s <= 40; s++ {
			fmt.Fprintf(&b, `{"step": %d, "data": {"actor/entropy": %g, "critic/score/mean": %g, "critic/accuracy": %g}}`+"\n",
				s, 1.0/float64(s+seed), 0.01*float64(s*seed), 0.005*float64(s))
		}
		os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644)
		dirs = append(dirs, dir)
	}
	out := filepath.Join(root, "figs")
	log, err := execute(t, append([]string{"plot", "--smooth", "5", "--format", "svg", "--out", out}, dirs...)...)
	if err != nil {
		t.Fatalf("plot: %v\n%s", err, log)
	}
	if !strings.Contains(log, "series: grpo_addition (2 seeds): mean over seeds with a 95% bootstrap CI band") {
		t.Errorf("plot's series line:\n%s", log)
	}
	svg, err := os.ReadFile(filepath.Join(out, "entropy.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"entropy (nats / token)", "trailing rolling mean over 5 steps", "95% bootstrap CI of the mean over seeds"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("entropy.svg lacks %q", want)
		}
	}
	if strings.Contains(string(svg), ">actor/entropy<") {
		t.Error("entropy.svg labels an axis with the raw key")
	}
	rw, _ := os.ReadFile(filepath.Join(out, "reward.svg"))
	if !strings.Contains(string(rw), "training accuracy (fraction)") {
		t.Error("reward.svg lacks the critic/accuracy panel")
	}
}
