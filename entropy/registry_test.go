package entropy

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRegistryNames(t *testing.T) {
	want := []string{"adaptive_bonus", "aent", "bonus", "em", "none"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got := PolicyLossNames(); !slices.Equal(got, []string{"aepo", "steer"}) {
		t.Errorf("PolicyLossNames() = %v", got)
	}
}

// TestEveryNameBuildsFromDefaults builds each registered name from the
// default config after a round trip through its mapstructure keys.
func TestEveryNameBuildsFromDefaults(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = name
			var back Config
			fromMap(&back, toMap(cfg))
			if !reflect.DeepEqual(back, cfg) {
				t.Fatalf("round trip: got %+v, want %+v", back, cfg)
			}
			reg, err := New(back)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewCoefController(back); err != nil {
				t.Fatal(err)
			}
			out, err := reg.Regularize(nil, Input{Logits: [][][]float64{{{0, 1, 2}, {1, 1, 1}}}, Mask: [][]float64{{1, 0}}, Temperature: 1})
			if err != nil {
				t.Fatal(err)
			}
			if out.Metrics == nil {
				t.Error("Regularize returned no metrics")
			}
		})
	}
	for _, name := range PolicyLossNames() {
		t.Run("policy/"+name, func(t *testing.T) {
			cfg := DefaultPolicyConfig()
			cfg.Name = name
			var back PolicyConfig
			fromMap(&back, toMap(cfg))
			if !reflect.DeepEqual(back, cfg) {
				t.Fatalf("round trip: got %+v, want %+v", back, cfg)
			}
			if _, err := NewPolicyLoss(back); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, v := range []interface{ Validate() error }{DefaultAEPOConfig(), DefaultHAPOTemperatureConfig()} {
		if err := v.Validate(); err != nil {
			t.Errorf("%T default: %v", v, err)
		}
	}
}

func TestUnknownName(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "bonsu"
	_, err := New(cfg)
	if !errors.Is(err, ErrUnknownName) {
		t.Fatalf("New(bonsu) = %v, want ErrUnknownName", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"bonsu"`) || !strings.Contains(msg, "adaptive_bonus, aent, bonus, em, none") {
		t.Errorf("error %q should name the bad key and the known ones", msg)
	}
	_, err = NewPolicyLoss(PolicyConfig{Name: "stere"})
	if !errors.Is(err, ErrUnknownName) || !strings.Contains(err.Error(), "aepo, steer") {
		t.Errorf("NewPolicyLoss(stere) = %v", err)
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Register(bonus) did not panic")
		}
	}()
	Register("bonus", newBonus)
}

func TestRegisterExperimental(t *testing.T) {
	Register("test_experimental", newNone)
	defer delete(regularizers, "test_experimental")
	cfg := DefaultConfig()
	cfg.Name = "test_experimental"
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		key  string
	}{
		{"bad_agg", func(c *Config) { c.Name = "bonus"; c.Bonus.Agg = "mean" }, "bonus.agg"},
		{"bad_rho", func(c *Config) { c.Name = "bonus"; c.Bonus.TopEntropyQuantile = 1.5 }, "bonus.top_entropy_quantile"},
		{"bad_clamp", func(c *Config) { c.Name = "aent"; c.AEnt.Clamp = 1 }, "aent.clamp"},
		{"bad_band", func(c *Config) { c.Name = "aent"; c.AEnt.EntropyLow = 1 }, "aent.entropy_low"},
		{"bad_box", func(c *Config) { c.Name = "adaptive_bonus"; c.Adaptive.Min = 2 }, "adaptive.min"},
		{"bad_reward", func(c *Config) { c.Name = "em"; c.EM.Reward = "seq" }, "em.reward"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.HasPrefix(err.Error(), "entropy: ") {
				t.Errorf("Validate(%s) = %v, want an error naming %s", tc.name, err, tc.key)
			}
		})
	}
	pc := DefaultPolicyConfig()
	pc.Steer.WeightMin, pc.Steer.Linear = 0, false
	if err := pc.Validate(); err == nil || !strings.Contains(err.Error(), "steer.token_weight_min") {
		t.Errorf("Validate(exp w_min 0) = %v", err)
	}
}

// TestControllerStateRoundTrip: SetState(State()) on a fresh controller
// reproduces the next coefficient.
func TestControllerStateRoundTrip(t *testing.T) {
	a := NewAdaptiveCoef(AdaptiveCoefConfig{Coef: 0.01, Target: 0.5, Delta: 0.01, Max: 1})
	a.Update(0.3, 0)
	b := NewAdaptiveCoef(AdaptiveCoefConfig{Coef: 0.01, Target: 0.5, Delta: 0.01, Max: 1})
	b.SetState(a.State())
	if a.Coef() != b.Coef() || a.Coef() != 0.02 {
		t.Errorf("restored Coef() = %v, original %v, want 0.02", b.Coef(), a.Coef())
	}
}

// toMap and fromMap stand in for the viper/mapstructure round trip the
// configs package does: every field is keyed by its mapstructure tag.
func toMap(v any) map[string]any {
	rv := reflect.ValueOf(v)
	out := map[string]any{}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		key := f.Tag.Get("mapstructure")
		if key == "" {
			continue
		}
		if _, dup := out[key]; dup {
			panic("duplicate mapstructure key " + key)
		}
		if f.Type.Kind() == reflect.Struct {
			out[key] = toMap(rv.Field(i).Interface())
		} else {
			out[key] = rv.Field(i).Interface()
		}
	}
	return out
}

func fromMap(dst any, m map[string]any) {
	rv := reflect.ValueOf(dst).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		val, ok := m[f.Tag.Get("mapstructure")]
		if !ok {
			continue
		}
		if sub, isMap := val.(map[string]any); isMap {
			fromMap(rv.Field(i).Addr().Interface(), sub)
			continue
		}
		rv.Field(i).Set(reflect.ValueOf(val))
	}
}
