package plots

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// sameFloat treats NaNs as equal and compares the rest exactly: every value
// in the test files is written out in full, so parsing must reproduce it.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b
}

func checkSeries(t *testing.T, r *Run, key string, steps []int, values []float64) {
	t.Helper()
	s := r.Get(key)
	if s == nil {
		t.Fatalf("series %q missing; have %v", key, r.Keys())
	}
	if len(s.Steps) != len(steps) {
		t.Fatalf("%s steps = %v, want %v", key, s.Steps, steps)
	}
	for i := range steps {
		if s.Steps[i] != steps[i] || !sameFloat(s.Values[i], values[i]) {
			t.Errorf("%s[%d] = (%d, %v), want (%d, %v)", key, i, s.Steps[i], s.Values[i], steps[i], values[i])
		}
	}
}

func mustRead(t testing.TB, dir string) *Run {
	t.Helper()
	r, err := ReadRun(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatalf("ReadRun(%s): %v", dir, err)
	}
	return r
}

func TestReadRunBasic(t *testing.T) {
	r := mustRead(t, "basic")
	// config.yaml: top-level name and seed; the nested trainer.name/seed are ignored.
	if r.Name != "grpo_bonus" || r.Seed != "7" || r.Label != "grpo_bonus seed=7" || !strings.HasPrefix(r.Group, "config-") {
		t.Errorf("ReadRun(basic) name=%q seed=%q label=%q group=%q, want grpo_bonus, 7, \"grpo_bonus seed=7\", config-<hash of the resolved config>",
			r.Name, r.Seed, r.Label, r.Group)
	}
	if r.Lines != 20 || r.Skipped != 0 || r.Ignored != 0 {
		t.Errorf("ReadRun(basic) lines=%d skipped=%d ignored=%d, want 20, 0, 0 (%v)", r.Lines, r.Skipped, r.Ignored, r.Warnings)
	}
	// basic was generated with H_t = 2 - 0.08 t and val/* every 5 steps.
	if got := r.Get(KeyEntropy).Len(); got != 20 {
		t.Errorf("len(actor/entropy) = %d, want 20", got)
	}
	if v, ok := r.Get(KeyEntropy).At(5); !ok || math.Abs(v-1.6) > 1e-12 {
		t.Errorf("actor/entropy at 5 = %v, %v; want 1.6", v, ok)
	}
	checkSeries(t, r, KeyValAccuracy, []int{5, 10, 15, 20}, []float64{0.25, 0.3, 0.35, 0.4})
	checkSeries(t, r, "val/pass@8", []int{5, 10, 15, 20}, []float64{0.55, 0.6, 0.65, 0.7})
	if got := len(r.Steps()); got != 20 {
		t.Errorf("len(Steps()) = %d, want 20", got)
	}
}

func TestReadRunMessy(t *testing.T) {
	r := mustRead(t, "messy")
	nan, inf := math.NaN(), math.Inf(1)
	// Expected values read off testdata/messy/metrics.jsonl line by line.
	checkSeries(t, r, KeyEntropy, []int{1, 2, 3, 4, 5, 6, 7},
		[]float64{1.5, nan /* null */, nan /* bare NaN */, 1.2, 1.05 /* step 5 rewritten */, 1.0 /* flat record, step 6.0 */, 0.9})
	checkSeries(t, r, KeyReward, []int{1, 2, 3, 4, 5, 6, 7},
		[]float64{0.1, 0.2, inf /* "Infinity" */, -inf /* bare -Infinity */, 0.5, 0.6, 0.7})
	checkSeries(t, r, KeyClipfrac, []int{1, 2}, []float64{0.01, nan /* "NaN" */})
	checkSeries(t, r, KeyValAccuracy, []int{7}, []float64{0.25 /* "0.25" */})
	if r.Get("note") != nil {
		t.Errorf(`a non-numeric string became series "note"`)
	}
	// Skipped: "this line is not json", the record without a step, the torn last line.
	// Ignored: "note" (a string) and actor/pg_clipfrac=true.
	if r.Lines != 8 || r.Skipped != 3 || r.Ignored != 2 {
		t.Errorf("ReadRun(messy) lines=%d skipped=%d ignored=%d, want 8, 3, 2", r.Lines, r.Skipped, r.Ignored)
	}
	if len(r.Warnings) != 5 || !strings.Contains(r.Warnings[len(r.Warnings)-1], ":12:") {
		t.Errorf("warnings = %q, want 5 with the torn line 12 last", r.Warnings)
	}
	if r.Label != "messy" || r.Group != "messy" {
		t.Errorf("label=%q group=%q, want the directory name", r.Label, r.Group)
	}
}

func TestReadRunEmptyAndSingle(t *testing.T) {
	r := mustRead(t, "empty")
	if len(r.Series) != 0 || r.Lines != 0 || r.Skipped != 0 || len(r.Steps()) != 0 {
		t.Errorf("ReadRun(empty) = %d series, %d lines, %d skipped; want none", len(r.Series), r.Lines, r.Skipped)
	}
	s := mustRead(t, "single")
	checkSeries(t, s, KeyEntropy, []int{100}, []float64{0.7})
}

func TestReadRunMissing(t *testing.T) {
	if _, err := ReadRun(filepath.Join("testdata", "no_such_run")); err == nil || !strings.HasPrefix(err.Error(), "plots: ") {
		t.Errorf("ReadRun(no_such_run) err = %v, want a plots: error", err)
	}
}

func TestParseMetricsLines(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		in      string
		key     string
		steps   []int
		values  []float64
		skipped int
	}{
		{"verl", `{"step": 3, "data": {"k": 2.5}}`, "k", []int{3}, []float64{2.5}, 0},
		{"flat", `{"step": 3, "k": 2.5}`, "k", []int{3}, []float64{2.5}, 0},
		{"null", `{"step": 1, "data": {"k": null}}`, "k", []int{1}, []float64{nan}, 0},
		{"string_nan", `{"step": 1, "data": {"k": "nan"}}`, "k", []int{1}, []float64{nan}, 0},
		{"string_inf", `{"step": 1, "data": {"k": "-inf"}}`, "k", []int{1}, []float64{math.Inf(-1)}, 0},
		{"bare_infinity", `{"step":1,"data":{"k":Infinity}}`, "k", []int{1}, []float64{math.Inf(1)}, 0},
		{"overflow", `{"step": 1, "data": {"k": 1e999}}`, "k", []int{1}, []float64{math.Inf(1)}, 0},
		{"unsorted", "{\"step\": 2, \"data\": {\"k\": 2}}\n{\"step\": 1, \"data\": {\"k\": 1}}", "k", []int{1, 2}, []float64{1, 2}, 0},
		{"crlf", "{\"step\": 1, \"data\": {\"k\": 1}}\r\n{\"step\": 2, \"data\": {\"k\": 2}}\r\n", "k", []int{1, 2}, []float64{1, 2}, 0},
		{"fractional_step", "{\"step\": 1.5, \"data\": {\"k\": 1}}\n{\"step\": 2, \"data\": {\"k\": 2}}", "k", []int{2}, []float64{2}, 1},
		{"data_not_object", "{\"step\": 1, \"data\": 3}\n{\"step\": 2, \"data\": {\"k\": 2}}", "k", []int{2}, []float64{2}, 1},
		{"torn", "{\"step\": 1, \"data\": {\"k\": 1}}\n{\"step\": 2, \"da", "k", []int{1}, []float64{1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseMetrics(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseMetrics(%s): %v", tc.name, err)
			}
			if r.Skipped != tc.skipped {
				t.Errorf("ParseMetrics(%s) skipped %d, want %d (%q)", tc.name, r.Skipped, tc.skipped, r.Warnings)
			}
			checkSeries(t, r, tc.key, tc.steps, tc.values)
		})
	}
}

func TestQuoteBareNonFinite(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", `{"a": 1}`, `{"a": 1}`},
		{"nan", `{"a": NaN}`, `{"a": "NaN"}`},
		{"both_infs", `[Infinity,-Infinity]`, `["Infinity","-Infinity"]`},
		{"inside_string", `{"NaN": "Infinity"}`, `{"NaN": "Infinity"}`},
		{"escaped_quote", `{"a\"NaN": NaN}`, `{"a\"NaN": "NaN"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(quoteBareNonFinite([]byte(tc.in))); got != tc.want {
				t.Errorf("quoteBareNonFinite(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	tests := []struct{ name, label, cfgName, want string }{
		{"seed_underscore", "grpo_seed1", "", "grpo"},
		{"seed_equals", "grpo-seed=12", "", "grpo"},
		{"short_s", "dapo_s3", "", "dapo"},
		{"no_seed", "aent_lr1e-6", "", "aent_lr1e-6"},
		{"word_ending_in_s", "runs", "", "runs"},
		{"config_name_wins", "whatever_seed2", "grpo_bonus", "grpo_bonus"},
		{"only_seed", "seed4", "", "seed4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := GroupKey(&Run{Label: tc.label, Name: tc.cfgName}); got != tc.want {
				t.Errorf("GroupKey(%q, name %q) = %q, want %q", tc.label, tc.cfgName, got, tc.want)
			}
		})
	}
}

// FuzzParseMetrics: any input parses without error or panic, every line is
// either a record, skipped, or blank, and every series is strictly ascending.
func FuzzParseMetrics(f *testing.F) {
	for _, s := range []string{
		`{"step": 1, "data": {"k": NaN}}`,
		"{\"step\": 2, \"data\": {\"k\": \"Infinity\"}}\n{\"step\": 1, \"da",
		`{"step": 1e3, "k": -Infinity, "n": null}`,
		"",
		"\n\n{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseMetrics(strings.NewReader(in))
		if err != nil {
			t.Fatalf("ParseMetrics: %v", err)
		}
		if lines := strings.Count(in, "\n") + 1; r.Lines+r.Skipped > lines {
			t.Fatalf("lines %d + skipped %d > %d lines in input", r.Lines, r.Skipped, lines)
		}
		for k, s := range r.Series {
			if len(s.Steps) != len(s.Values) {
				t.Fatalf("%s: %d steps, %d values", k, len(s.Steps), len(s.Values))
			}
			for i := 1; i < len(s.Steps); i++ {
				if s.Steps[i] <= s.Steps[i-1] {
					t.Fatalf("%s: steps not ascending: %v", k, s.Steps)
				}
			}
		}
	})
}
