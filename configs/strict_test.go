package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The cases of issue 12 ("accepted but wrong") and 11 (provenance): each
// must be an error naming the key, the value and where it came from.
func TestStrictDecoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		sets []string
		want []string
	}{
		{"negative_seed", "seed: -1\n", nil, nil, []string{`"seed"`, "line 1", "-1", "non-negative integer"}},
		{"fraction_seed", "seed: 1.5\n", nil, nil, []string{`"seed"`, "1.5", "no fraction"}},
		{"fraction_steps", "train:\n  steps: 2.7\n", nil, nil, []string{`"train.steps"`, "line 2", "2.7"}},
		{"overflow", "train:\n  steps: 1e300\n", nil, nil, []string{`"train.steps"`, "1e+300"}},
		{"case_duplicate", "Seed: 1\nseed: 2\n", nil, nil, []string{`"seed"`, "twice", "line 1", "line 2"}},
		{"nested_case_duplicate", "train:\n  steps: 1\n  STEPS: 2\n", nil, nil, []string{`"train.steps"`, "twice"}},
		{"second_document", "seed: 1\n---\nseed: 2\n", nil, nil, []string{"second YAML document"}},
		{"section_list", "sampling: []\n", nil, nil, []string{`"sampling"`, "section", "list"}},
		{"section_scalar", "train: 5\n", nil, nil, []string{`"train"`, "section"}},
		{"empty_file", "", nil, nil, []string{"empty"}},
		{"comment_only", "# nothing\n", nil, nil, []string{"empty"}},
		{"top_level_list", "- 1\n", nil, nil, []string{"top level", "list"}},
		{"bool_as_int", "log:\n  diagnostics: 1\n", nil, nil, []string{`"log.diagnostics"`, "true or false"}},
		{"list_for_number", "optim:\n  lr: [1]\n", nil, nil, []string{`"optim.lr"`, "a number"}},
		{"env_fraction", "seed: 1\n", []string{"ENTROLAB_TRAIN_STEPS=2.5"}, nil, []string{`"train.steps"`, "ENTROLAB_TRAIN_STEPS", "2.5"}},
		{"set_negative", "seed: 1\n", nil, []string{"seed=-1"}, []string{`"seed"`, "--set seed=-1"}},
		{"set_fraction", "seed: 1\n", nil, []string{"train.prompts_per_step=1.5"}, []string{"train.prompts_per_step", "--set", "1.5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "x.yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadTrain(f, tc.env, tc.sets)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Validation errors (after decoding) name the value's source too.
func TestValidationNamesSource(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		env   []string
		sets  []string
		flags []Flag
		want  []string
	}{
		{"file_line", "seed: 1\noptim:\n  lr: .nan\n", nil, nil, nil, []string{"lr = NaN", "x.yaml line 3"}},
		{"env", "seed: 1\n", []string{"ENTROLAB_OPTIM_LR=.nan"}, nil, nil, []string{"lr = NaN", "ENTROLAB_OPTIM_LR"}},
		{"set_task", "seed: 1\n", nil, []string{"task.name=nope"}, nil, []string{`"nope"`, "--set task.name=nope"}},
		{"flag", "seed: 1\n", nil, nil, []Flag{{Name: "steps", Key: "train.steps", Value: "-5"}}, []string{"train.steps = -5", "flag --steps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "x.yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadTrainFlags(f, tc.env, tc.sets, tc.flags)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Integral values are still accepted, also written with an exponent.
func TestStrictAcceptsWholeNumbers(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.yaml")
	os.WriteFile(f, []byte("seed: 18446744073709551615\ntrain:\n  steps: 1e2\noptim:\n  lr: 1\n"), 0o644)
	cfg, err := LoadTrain(f, []string{"ENTROLAB_LOG_EVERY=5"}, []string{"name=007"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seed != 18446744073709551615 || cfg.Train.Steps != 100 || cfg.Optim.LR != 1 || cfg.Log.Every != 5 || cfg.Name != "007" {
		t.Fatalf("got seed %d steps %d lr %v every %d name %q", cfg.Seed, cfg.Train.Steps, cfg.Optim.LR, cfg.Log.Every, cfg.Name)
	}
}

// A FIFO or a huge file in place of the experiment file is refused before
// reading (a FIFO would block forever).
func TestConfigFileNotRegular(t *testing.T) {
	if _, err := LoadTrain("/dev/zero", nil, nil); err == nil {
		t.Fatal("/dev/zero accepted")
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, []byte("seed: 1\n"+strings.Repeat("#", MaxConfigBytes)+"\n"), 0o644)
	if _, err := LoadTrain(big, nil, nil); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("huge file: %v", err)
	}
}
