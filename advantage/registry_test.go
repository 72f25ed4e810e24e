package advantage

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestEveryNameBuildsFromDefaults(t *testing.T) {
	want := []string{"aapo", "dr_grpo", "grpo", "hapo", "reinforce_pp", "reinforce_pp_baseline", "rloo"}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = name
			est, err := New(cfg)
			if err != nil {
				t.Fatalf("New(%s) error: %v", name, err)
			}
			if est == nil {
				t.Fatalf("New(%s) = nil", name)
			}
			// Every estimator runs on a batch that carries all the fields it needs.
			in := benchInput(8, 16, 4)
			if err := est.Estimate(Alloc(in.Mask), in); err != nil {
				t.Fatalf("Estimate(%s) error: %v", name, err)
			}
		})
	}
	for _, name := range Names() {
		found := false
		for _, w := range want {
			found = found || w == name
		}
		if !found && !strings.HasPrefix(name, "test_") {
			t.Errorf("Names() has %q, not covered by this test", name)
		}
	}
}

func TestNeeds(t *testing.T) {
	tests := []struct {
		name string
		want Needs
	}{
		{"grpo", Needs{Group: true}},
		{"dr_grpo", Needs{Group: true}},
		{"rloo", Needs{Group: true}},
		{"reinforce_pp", Needs{TokenRewards: true}},
		{"reinforce_pp_baseline", Needs{Group: true}},
		{"aapo", Needs{Group: true, RefRewards: true}},
		{"hapo", Needs{Group: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = tc.name
			if got := must(New(cfg)).Needs(); got != tc.want {
				t.Errorf("Needs(%s) = %+v, want %+v", tc.name, got, tc.want)
			}
		})
	}
}

func TestDrGRPOIgnoresScaleByStd(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "dr_grpo"
	cfg.GRPO.ScaleByStd = true
	in := Input{Rewards: []float64{1, 0, 0, 0}, Group: []int{0, 0, 0, 0}, Mask: [][]float64{{1}, {1}, {1}, {1}}}
	seq := make([]float64, 4)
	if err := must(New(cfg)).(Sequencer).Sequence(seq, in); err != nil {
		t.Fatal(err)
	}
	if seq[0] != 0.75 {
		t.Errorf("dr_grpo a_0 = %v, want 0.75 (mean-only)", seq[0])
	}
}

func TestUnknownName(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "grop"
	_, err := New(cfg)
	if !errors.Is(err, ErrUnknownName) {
		t.Fatalf("New(grop) error = %v, want ErrUnknownName", err)
	}
	want := `advantage: unknown estimator "grop" (known: ` + strings.Join(Names(), ", ") + ")"
	if err.Error() != want {
		t.Errorf("New(grop) error = %q, want %q", err, want)
	}
	if err := cfg.Validate(); !errors.Is(err, ErrUnknownName) {
		t.Errorf("Validate(grop) = %v, want ErrUnknownName", err)
	}
}

func TestRegister(t *testing.T) {
	Register("test_zero", func(Config) (Estimator, error) { return NewReinforcePPBaseline(), nil })
	t.Cleanup(func() { // leave the built-in set for the other tests and examples
		mu.Lock()
		delete(registry, "test_zero")
		mu.Unlock()
	})
	cfg := DefaultConfig()
	cfg.Name = "test_zero"
	if _, err := New(cfg); err != nil {
		t.Fatalf("New(test_zero) error: %v", err)
	}
	names := Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("Names() not sorted: %v", names)
		}
	}
	for _, name := range []string{"grpo", "test_zero", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			Register(name, newGRPO)
		}()
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"grpo_eps_zero", func(c *Config) { c.GRPO.Eps = 0 }, "advantage: grpo.eps = 0, want a finite value > 0"},
		{"rloo_singleton", func(c *Config) { c.RLOO.Singleton = "none" }, `advantage: rloo.singleton = "none", want "reward" or "zero"`},
		{"rloo_zero", func(c *Config) { c.RLOO.Singleton = "zero" }, ""},
		{"gamma_big", func(c *Config) { c.ReinforcePP.Gamma = 1.5 }, "advantage: reinforce_pp.gamma = 1.5, want a value in [0, 1]"},
		{"aapo_eps", func(c *Config) { c.AAPO.Eps = -1 }, "advantage: aapo.eps = -1, want a finite value > 0"},
		{"aapo_low", func(c *Config) { c.AAPO.DeltaLow = 0.1 }, "advantage: aapo.delta_low = 0.1, want a finite value <= 0"},
		{"aapo_high", func(c *Config) { c.AAPO.DeltaHigh = -0.1 }, "advantage: aapo.delta_high = -0.1, want a finite value >= 0"},
		{"hapo_eps", func(c *Config) { c.HAPO.Eps = 0 }, "advantage: hapo.eps = 0, want a finite value > 0"},
		{"hapo_threshold", func(c *Config) { c.HAPO.FallbackThreshold = 0 }, "advantage: hapo.fallback_threshold = 0, want a value > 0 (+Inf: never)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate(%s) = %v, want nil", tc.name, err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("Validate(%s) = %v, want %q", tc.name, err, tc.wantErr)
			}
			if _, nerr := New(cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New(%s) error %v disagrees with Validate %v", tc.name, nerr, err)
			}
		})
	}
}

// TestConfigTags checks that every config field carries a snake_case
// mapstructure tag, so the configs package can decode it strictly.
func TestConfigTags(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("mapstructure")
			if !snake.MatchString(tag) {
				t.Errorf("%s.%s: mapstructure tag %q is not snake_case", path, f.Name, tag)
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path+"."+tag)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "advantage")
}
