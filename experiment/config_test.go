package experiment

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestDefaultValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// A checkpoint's run.json holds the config as JSON: the sampling section's
// per-token temperature hook (a step's, never a setting) must not make that
// fail (json.Marshal refuses func values).
func TestConfigMarshalsJSON(t *testing.T) {
	b, err := json.Marshal(map[string]any{"config": DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Config Config }
	if err := json.Unmarshal(b, &back); err != nil || back.Config.Sampling.N != 8 {
		t.Fatalf("round trip: %v, group size %d", err, back.Config.Sampling.N)
	}
}

// The sampling section is rollout.Sampling: its run bounds name the full key,
// the value and what is allowed.
func TestSamplingErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		set  func(c *Config)
		want string
	}{
		{func(c *Config) { c.Sampling.Temperature = 0 }, "sampling.temperature = 0, want in (0, 10]"},
		{func(c *Config) { c.Sampling.Temperature = math.NaN() }, "sampling.temperature = NaN"},
		{func(c *Config) { c.Sampling.TopK = -1 }, "sampling.top_k = -1, want >= 0"},
		{func(c *Config) { c.Sampling.TopK = 1 << 21 }, "sampling.top_k = 2097152 exceeds its upper limit 1048576"},
		{func(c *Config) { c.Sampling.TopP = 1.5 }, "sampling.top_p = 1.5, want in (0, 1]"},
		{func(c *Config) { c.Sampling.MinP = 1 }, "sampling.min_p = 1, want in [0, 1)"},
		{func(c *Config) { c.Sampling.MaxNewTokens = 2000 }, "sampling.max_new_tokens = 2000, want in [1, 1024]"},
		{func(c *Config) { c.Sampling.N = 1 }, "sampling.group_size = 1, want >= 2"},
		{func(c *Config) { c.Sampling.N, c.Train.PromptsPerStep = 2000, 1 }, "sampling.group_size = 2000 exceeds its upper limit 1024"},
	} {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}
