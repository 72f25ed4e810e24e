package configs

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/internal/fuzzcount"
	"github.com/entrolab/entrolab/trainer"
	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"
)

// fuzzSeeds are the malformed configs of issue 12 and bundled experiments.
var fuzzSeeds = []string{
	"seed: -1\n", "seed: 1.5\n", "train:\n  steps: 2.7\n", "Seed: 1\nseed: 2\n", "seed: 1\n---\nseed: 2\n",
	"sampling: []\n", "", "# c\n", "sampling:\n  group_size: 1000000000\n", "train:\n  prompts_per_step: 1e9\n",
	"eval:\n  problems: 1e9\n", "eval:\n  k: 1e7\n", "train:\n  ppo_epochs: 1000000\n", "name: ../../escape\n",
	"optim:\n  lr: .nan\n", "task:\n  name: nope\n", "seed: 18446744073709551616\n", "train:\n  steps: 9223372036854775807\n",
	"a: &x [1]\nb: *x\n", "sampling: {group_size: 4, GROUP_SIZE: 8}\n", "log:\n  diagnostics: yes\n",
	"algorithm:\n  loss:\n    name: ppo\n    clip_ratio: [1]\n", "seed: 0x10\n", "seed: 1_000\n", "train: {steps: !!float 3}\n",
}

// FuzzLoadTrain decodes arbitrary YAML as an experiment. It must never
// panic or hang, and whatever it accepts must be right: every whole-number
// setting the document gives is the number decoded (no truncated fraction,
// no wrapped negative), and the resolved config validates and survives a
// Dump/Load round trip unchanged.
func FuzzLoadTrain(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, e := range Experiments()[:4] {
		b, _ := Experiment(e)
		f.Add(b)
	}
	types := map[string]reflect.Type{}
	typeIndex("", reflect.TypeOf(trainer.Config{}), types)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		defer fuzzcount.Timer(t.Fatalf)()
		cfg := trainer.DefaultConfig()
		if err := Load(&cfg, Source{YAML: data, Name: "fuzz.yaml"}); err != nil {
			if !strings.HasPrefix(err.Error(), "configs: ") {
				t.Fatalf("error without its package: %v", err)
			}
			fuzzcount.Record(false)
			return
		}
		accepted := false
		defer func() { fuzzcount.Record(accepted) }()
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) != nil {
			t.Fatalf("accepted a document yaml.v3 cannot decode: %q", data)
		}
		got := map[string]any{}
		if err := mapstructure.Decode(cfg, &got); err != nil {
			t.Fatal(err)
		}
		leaves := map[string]any{}
		flattenValues("", doc, leaves)
		resolved := map[string]any{}
		flattenStruct("", reflect.ValueOf(cfg), resolved)
		for k, v := range leaves {
			ty, ok := types[k]
			if !ok {
				continue
			}
			if isInt(ty.Kind()) {
				want, ok := exactInt(v)
				if !ok {
					t.Fatalf("accepted %s = %v (%T) for an integer setting", k, v, v)
				}
				if g := resolved[k]; g != nil && !sameInt(g, want) {
					t.Fatalf("%s: document says %v, config holds %v", k, v, g)
				}
			}
		}
		if cfg.Validate() != nil {
			return // LoadTrain refuses it, naming the key: a clean error
		}
		accepted = true
		b, err := Dump(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again := trainer.DefaultConfig()
		if err := Load(&again, Source{YAML: b, Name: "dump"}); err != nil {
			t.Fatalf("the dump of an accepted config does not load: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(cfg, again) && !hasNaN(cfg) {
			t.Fatalf("round trip changed the config:\n%s", b)
		}
	})
}

func isInt(k reflect.Kind) bool { return k >= reflect.Int && k <= reflect.Uint64 }

// exactInt returns a YAML number as a big-enough integer, if it is whole.
func exactInt(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, n == math.Trunc(n) && !math.IsInf(n, 0)
	}
	return 0, false
}

func sameInt(g any, want float64) bool {
	rv := reflect.ValueOf(g)
	switch {
	case rv.CanInt():
		return float64(rv.Int()) == want
	case rv.CanUint():
		return want >= 0 && float64(rv.Uint()) == want
	}
	return false
}

func hasNaN(c trainer.Config) bool {
	m := map[string]any{}
	flattenStruct("", reflect.ValueOf(c), m)
	for _, v := range m {
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			return true
		}
	}
	return false
}

// flattenValues lists a decoded YAML document's leaves by lower-case path.
func flattenValues(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if sub, ok := v.(map[string]any); ok {
			flattenValues(key, sub, out)
			continue
		}
		out[key] = v
	}
}

// flattenStruct lists a config struct's leaf values by mapstructure path.
func flattenStruct(prefix string, v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(opts, "squash") {
			flattenStruct(prefix, fv, out)
			continue
		}
		key := strings.ToLower(name)
		if prefix != "" {
			key = prefix + "." + key
		}
		if fv.Kind() == reflect.Struct {
			flattenStruct(key, fv, out)
			continue
		}
		out[key] = fv.Interface()
	}
}
