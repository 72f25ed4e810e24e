package method

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/advantage"
	"github.com/entrolab/entrolab/clip"
	"github.com/entrolab/entrolab/entropy"
)

// TestBuildEveryLoss builds a recipe for every policy-loss name from the
// defaults; AEPO's brings its pool and controller.
func TestBuildEveryLoss(t *testing.T) {
	for _, name := range LossNames() {
		c := DefaultConfig()
		c.Loss.Name = name
		r, err := Build(c)
		if err != nil {
			t.Errorf("Build(loss %s): %v", name, err)
			continue
		}
		var parts []string
		for _, p := range r.Parts {
			parts = append(parts, p.Name())
		}
		if want := name == "aepo"; want != strings.Contains(strings.Join(parts, ","), "aepo") {
			t.Errorf("Build(loss %s) parts = %v", name, parts)
		}
	}
	c := DefaultConfig()
	c.Loss.Name = "ppx"
	if _, err := Build(c); err == nil || !strings.Contains(err.Error(), "steer") || !strings.Contains(err.Error(), "gspo") {
		t.Errorf("Build(ppx) = %v, want an error listing both families' names", err)
	}
}

// TestPartsAtPhases switches every part on and checks each is built once,
// declares phases and implements their interfaces.
func TestPartsAtPhases(t *testing.T) {
	c := DefaultConfig()
	c.Loss.Name = "aepo"
	c.Entropy.Name = "adaptive_bonus"
	c.KL.Mode = "loss"
	c.TopEntropyQuantile = 0.2
	c.HAPOTemperature.Enabled = true
	c.EMRL.Enabled = true
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"entropy_coef", "em_rl", "kl_loss", "hapo_temperature", "aepo", "top_entropy_mask"}
	if len(r.Parts) != len(want) {
		t.Fatalf("parts = %d, want %v", len(r.Parts), want)
	}
	for i, p := range r.Parts {
		if p.Name() != want[i] || p.Phases() == 0 {
			t.Errorf("part %d = %s (phases %b), want %s", i, p.Name(), p.Phases(), want[i])
		}
		if err := checkPhases(p); err != nil {
			t.Error(err)
		}
	}
	if !r.RefLogp {
		t.Error("the KL loss reads the reference log-probs, RefLogp = false")
	}
	c.KL.Mode = "reward"
	if r, _ = Build(c); r.Parts[2].Name() != "kl_reward" || r.Parts[2].Phases() != AtShapeReward {
		t.Errorf("kl.mode reward built %s", r.Parts[2].Name())
	}
}

// TestTrainerNamesNoMethod: the trainer knows phases, not methods. No
// registered name of a method (estimator, loss, regularizer, part) may
// appear in its non-test code.
func TestTrainerNamesNoMethod(t *testing.T) {
	names := append(append(advantage.Names(), LossNames()...), entropy.Names()...)
	c := DefaultConfig()
	c.Loss.Name, c.Entropy.Name, c.KL.Mode, c.TopEntropyQuantile = "aepo", "aent", "loss", 0.5
	c.HAPOTemperature.Enabled, c.EMRL.Enabled = true, true
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Parts {
		names = append(names, p.Name())
	}
	names = append(names, "hapo", "aepo", "em_rl", "steer", "aapo", "clip_cov", "kl_cov", "gspo", "cispo", "sapo", "entropy_adv", "kl_in_reward")
	names = append(append(append(append(names, clip.Names()...), entropy.Names()...), entropy.PolicyLossNames()...), advantage.Names()...)
	files, _ := filepath.Glob("../trainer/*.go")
	if len(files) == 0 {
		t.Fatal("no trainer sources found")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := strings.ReplaceAll(strings.ToLower(string(b)), "-", "_") // "EM-RL" names em_rl
		for _, n := range names {
			if n == "none" || len(n) < 3 {
				continue
			}
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).MatchString(src) {
				t.Errorf("%s names the method %q", f, n)
			}
		}
	}
}

// TestKLInRewardPerToken: the KL penalty is a per-token reward
// −β·kl(old − ref); the outcome estimators see its row sum.
func TestKLInRewardPerToken(t *testing.T) {
	c := DefaultConfig()
	c.KL.Mode, c.KL.Kind, c.KL.Coef = "reward", "k1", 0.5
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sample{Reward: 1, Old: []float64{-1, -2, -0.5}, Ref: []float64{-1.5, -1, -0.5}, Mask: []float64{1, 1, 1}}
	s.Seq.Tokens = []int32{1, 2, 3}
	m := map[string]float64{}
	if err := r.Parts[0].(RewardShaper).ShapeRewards([]*Sample{s}, m); err != nil {
		t.Fatal(err)
	}
	// k1 = old − ref: 0.5, −1, 0; rewards −β·k1 = −0.25, 0.5, 0
	want := []float64{-0.25, 0.5, 0}
	for i, w := range want {
		if s.TokenReward[i] != w {
			t.Errorf("TokenReward = %v, want %v", s.TokenReward, want)
			break
		}
	}
	if s.Reward != 1 || s.EstimatorReward() != 1.25 {
		t.Errorf("Reward = %v, EstimatorReward = %v; want 1 and 1.25", s.Reward, s.EstimatorReward())
	}
	if got := m["actor/reward_kl_penalty"]; got != (0.5-1+0)/3 {
		t.Errorf("actor/reward_kl_penalty = %v", got)
	}
}
