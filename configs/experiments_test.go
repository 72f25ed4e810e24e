package configs

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/trainer"
)

// TestBundledExperiments loads and validates every bundled experiment and
// checks that its resolved config survives a YAML round trip.
func TestBundledExperiments(t *testing.T) {
	names := Experiments()
	if len(names) < 38 {
		t.Fatalf("only %d bundled experiments", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadTrain(name, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Name != name {
				t.Errorf("name = %q, want %q", cfg.Name, name)
			}
			if Describe(name) == "" {
				t.Errorf("no description comment")
			}
			b, err := Dump(cfg)
			if err != nil {
				t.Fatal(err)
			}
			back := trainer.DefaultConfig()
			if err := Load(&back, Source{YAML: b, Name: "dump"}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, back) {
				t.Errorf("YAML round trip changed the config:\n%s", b)
			}
		})
	}
	for _, m := range []string{"grpo", "dr_grpo", "rloo", "reinforce_pp", "aapo", "ppo_clip_higher", "clip_cov", "kl_cov", "cegppo", "hapo", "entropy_bonus", "aent", "steer", "aepo", "em_rl", "gspo", "cispo", "sapo", "entropy_adv"} {
		for _, task := range []string{"addition", "countdown"} {
			if _, err := Experiment(m + "_" + task); err != nil {
				t.Errorf("missing bundled experiment %s_%s", m, task)
			}
		}
	}
}

func TestLoadTrainRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"group_divides", []string{"train.mini_batches=3"}, "train.mini_batches"},
		{"unknown_key", []string{"algorithm.los.name=ppo"}, "algorithm.loss.name"},
		{"unknown_loss", []string{"algorithm.loss.name=ppp"}, "ppp"},
		{"bad_type", []string{"train.steps=many"}, "train.steps"},
		{"range", []string{"sampling.top_p=1.5"}, "sampling.top_p"},
		{"kl_mode", []string{"algorithm.kl.mode=both"}, "algorithm.kl.mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTrain("", nil, tc.sets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadTrain(--set %v) = %v, want an error naming %q", tc.sets, err, tc.want)
			}
		})
	}
	if _, err := LoadTrain("no_such_experiment", nil, nil); err == nil || !strings.Contains(err.Error(), "grpo_addition") {
		t.Fatalf("unknown experiment: %v", err)
	}
	cfg, err := LoadTrain("", []string{"ENTROLAB_OPTIM_LR=0.002"}, nil)
	if err != nil || cfg.Optim.LR != 0.002 {
		t.Fatalf("env override: %v, lr %v", err, cfg.Optim.LR)
	}
}

func TestValidationErrorNamesLine(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/x.yaml"
	os.WriteFile(p, []byte("name: x\nsampling:\n  top_p: 1.5\n"), 0o644)
	_, err := LoadTrain(p, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "sampling.top_p") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("LoadTrain(top_p 1.5) = %v, want the key and line 3", err)
	}
	os.WriteFile(p, []byte("name: x\ntrain:\n  prompts_per_step: 3\n  mini_batches: 5\n"), 0o644)
	_, err = LoadTrain(p, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "train.mini_batches") || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("inconsistent sizes: %v", err)
	}
	t.Log(err)
}

// TestInactiveSettingsRefused: a setting the selected methods do not read
// is an error naming it, and config.yaml leaves such settings out.
func TestInactiveSettingsRefused(t *testing.T) {
	for _, tc := range []struct{ exp, set string }{
		{"grpo_addition", "algorithm.entropy_loss.name=aepo"},
		{"grpo_addition", "algorithm.loss.clip_cov.clip_cov_ratio=0.001"},
		{"grpo_addition", "base.sft.max_new_tokens=12"},
		{"grpo_addition", "algorithm.entropy.bonus.coef=0.01"},
		{"aepo_addition", "algorithm.loss.steer.linear=false"},
		{"grpo_addition", "algorithm.aepo.entropy_base=0.3"},
	} {
		_, err := LoadTrain(tc.exp, nil, []string{tc.set})
		key, _, _ := strings.Cut(tc.set, "=")
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "--set") {
			t.Errorf("%s --set %s: %v, want an error naming %s and where it came from", tc.exp, tc.set, err, key)
		}
	}
	cfg, err := LoadTrain("grpo_addition", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteResolved(dir, cfg); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dir + "/config.yaml")
	for _, absent := range []string{"entropy_loss", "steer", "clip_cov", "max_new_tokens: 16", "countdown", "temperature_tau"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("GRPO's config.yaml shows %q:\n%s", absent, b)
		}
	}
	back, err := LoadTrain(dir+"/config.yaml", nil, nil)
	if err != nil || !reflect.DeepEqual(back, cfg) {
		t.Fatalf("config.yaml does not load back to the config: %v", err)
	}
}

// TestFileWithoutNameIsNamedAfterIt: a YAML without name: runs under its
// file's name, not "grpo".
func TestFileWithoutNameIsNamedAfterIt(t *testing.T) {
	p := t.TempDir() + "/lr_probe.yaml"
	os.WriteFile(p, []byte("optim:\n  lr: 0.001\n"), 0o644)
	cfg, err := LoadTrain(p, nil, nil)
	if err != nil || cfg.Name != "lr_probe" {
		t.Fatalf("name = %q, %v; want lr_probe", cfg.Name, err)
	}
}

func TestUnknownExperimentSuggests(t *testing.T) {
	_, err := LoadTrain("grpo_additon", nil, nil)
	if err == nil || !strings.Contains(err.Error(), `did you mean "grpo_addition"`) {
		t.Fatalf("%v", err)
	}
}
