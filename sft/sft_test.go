package sft

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/entrolab/entrolab/policy"
)

// TestSFTReachesPinnedAccuracy: a tiny SFT run on 2-digit addition reaches
// the pinned held-out accuracy within the pinned number of steps.
func TestSFTReachesPinnedAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	cfg := DefaultConfig()
	cfg.Task.Addition.Digits = 2
	cfg.AccLow, cfg.AccHigh = 0.3, 1
	cfg.MaxSteps = 1000
	cfg.EvalSize = 128
	out := filepath.Join(t.TempDir(), "base")
	res, err := Run(context.Background(), cfg, out, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("2-digit addition: %d steps, held-out accuracy %.3f (%s), %.0f tokens/s", res.Steps, res.Accuracy, res.Reason, res.TokensPerS)
	if res.Reason == "max_steps" || res.Accuracy < 0.3 {
		t.Fatalf("SFT stopped at step %d with accuracy %.3f (%s), want >= 0.3 within 1000 steps", res.Steps, res.Accuracy, res.Reason)
	}
	ck, err := policy.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Files["tokenizer.json"] == nil || ck.Files["sft.json"] == nil {
		t.Fatalf("checkpoint lacks tokenizer.json or sft.json: %v", ck.Files)
	}
	// an existing output directory is not overwritten without force
	if _, err := Run(context.Background(), cfg, out, false, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second run into %s: %v, want ErrExists", out, err)
	}
}

func TestInterruptSaves(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSteps = 100
	ctx, cancel := context.WithCancel(context.Background())
	out := filepath.Join(t.TempDir(), "base")
	res, err := Run(ctx, cfg, out, false, func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Steps != 3 {
		t.Fatalf("interrupted run: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		t.Fatalf("no checkpoint after Ctrl-C: %v", err)
	}
}

func TestValidateNamesSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"batch", func(c *Config) { c.BatchSize = 0 }, "batch_size"},
		{"band", func(c *Config) { c.AccLow = 0.7 }, "acc_low"},
		{"lr", func(c *Config) { c.Optim.LR = -1 }, "lr"},
		{"heads", func(c *Config) { c.Model.NHeads = 3 }, "n_heads"},
		{"task", func(c *Config) { c.Task.Name = "additon" }, "additon"},
	} {
		c := DefaultConfig()
		tc.mut(&c)
		err := c.Validate()
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want it to name %q", tc.name, err, tc.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0))
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
