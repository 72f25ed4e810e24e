package sweep

import (
	"slices"
	"testing"

	"github.com/entrolab/entrolab/configs"
)

// TestBundledSweepsLoad: every bundled sweep resolves all its cells, and
// the entropy study (README "Findings") holds what its findings rest on:
// GRPO as the baseline, every entropy-control method on one task, at least
// five seeds, and a fixed workers count (a run's numbers depend on it, so
// they must not depend on the machine's cores).
func TestBundledSweepsLoad(t *testing.T) {
	names := configs.Sweeps()
	if !slices.Contains(names, "entropy_study") {
		t.Fatalf("bundled sweeps %v lack entropy_study", names)
	}
	for _, n := range names {
		if _, err := Load(n, nil); err != nil {
			t.Errorf("bundled sweep %s: %v", n, err)
		}
	}
	c, err := Load("entropy_study", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Seeds) < 5 || c.Workers < 1 || c.Baseline != "grpo_countdown" {
		t.Errorf("entropy_study: seeds %v, workers %d, baseline %q; want >= 5 seeds, workers fixed, baseline grpo_countdown", c.Seeds, c.Workers, c.Baseline)
	}
	for _, m := range []string{"grpo", "clip_cov", "kl_cov", "cegppo", "hapo", "aent", "steer", "aepo", "entropy_bonus", "ppo_clip_higher", "entropy_adv", "cispo"} {
		if !slices.Contains(c.Experiments, m+"_countdown") {
			t.Errorf("entropy_study lacks %s_countdown", m)
		}
	}
}
