package configs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
)

// small is the base of the schema walk: the committed base policy, a few
// tiny prompts, one step that is also the last (so the end-of-run
// evaluation and checkpoint are part of it).
func small() []string {
	return []string{"base.checkpoint=" + policytest.BaseDir(), "sampling.group_size=4",
		"train.prompts_per_step=8", "train.steps=2", "eval.problems=8", "eval.k=2", "log.sample_every=1", "log.samples=2"}
}

// notFirstStep are the settings that act only on files or lines after the
// first steps, or only on where things go; each is checked by name elsewhere.
var notFirstStep = map[string]string{
	"name":             "the run's label (TestRunIdentity, plots)",
	"out":              "the run directory",
	"checkpoint.every": "checkpoint cadence (trainer TestResumeIsExact)",
	"checkpoint.keep":  "old checkpoints kept (trainer TestResumeIsExact)",
	"log.every":        "log cadence: the last step always logs",
	"eval.every":       "evaluation cadence: the last step always evaluates",
}

// dataDependent are settings that act only on what this small probe does
// not produce in two steps; each says when it acts.
var dataDependent = map[string]string{
	"algorithm.advantage.rloo.singleton":             "a group of one response (group_size >= 2 here)",
	"algorithm.loss.ppo.log_ratio_clamp":             "a log-ratio beyond the clamp (ratios stay near 1 in two steps)",
	"algorithm.loss.ppo_clip_higher.log_ratio_clamp": "a log-ratio beyond the clamp",
	"algorithm.loss.cegppo.beta2":                    "a token clipped below with a negative advantage",
	"task.countdown.require_all":                     "a countdown answer that leaves numbers unused and is otherwise right",
	"algorithm.loss.aepo.clip_ratio_dual":            "(its range error names aepo.clip_ratio_c: entropy/ppo.go validateClip)",
	"algorithm.entropy.adaptive.delta":               "a second step below the target entropy",
	"algorithm.entropy.adaptive.max":                 "a coefficient growing past max",
	"algorithm.entropy.adaptive.min":                 "a coefficient shrinking past min",
}

// extraContext makes a key's effect reachable in two steps.
var extraContext = map[string][]string{
	"algorithm.entropy.adaptive.coef":       {"algorithm.entropy.adaptive.target=0.9"},
	"algorithm.entropy.aent.coeff_box_high": {"algorithm.entropy.aent.warmup_steps=0"},
	"algorithm.entropy.aent.coeff_box_low":  {"algorithm.entropy.aent.warmup_steps=0"},
	"algorithm.entropy.aent.coeff_lr":       {"algorithm.entropy.aent.warmup_steps=0"},
	"algorithm.entropy.aent.entropy_high":   {"algorithm.entropy.aent.warmup_steps=0"},
	"algorithm.entropy.aent.entropy_low":    {"algorithm.entropy.aent.warmup_steps=0"},
	"optim.min_lr_ratio":                    {"optim.total_steps=2"},
}

// fingerprint runs cfg's first step in a fresh directory and hashes what
// it produced: the step's metrics (timings aside), the sample dump, the log
// line and the weights after the step.
func fingerprint(t *testing.T, cfg trainer.Config) (string, error) {
	dir := t.TempDir()
	r, err := trainer.Open(cfg, dir, false, false, nil)
	if err != nil {
		return "", err
	}
	var log bytes.Buffer
	r.Trainer.Observe(trainer.MetricsWriter{Dir: dir})
	r.Trainer.Observe(trainer.Logger{W: &log})
	if err := r.EvaluateBase(); err != nil {
		return "", err
	}
	if err := r.Trainer.Run(context.Background()); err != nil {
		return "", err
	}
	h := sha256.New()
	m, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	for _, line := range bytes.Split(bytes.TrimSpace(m), []byte("\n")) {
		var l struct {
			Step int                 `json:"step"`
			Data map[string]*float64 `json:"data"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(l.Data))
		for k := range l.Data {
			if !strings.HasPrefix(k, "timing_s/") && !strings.HasPrefix(k, "perf/") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := math.NaN()
			if l.Data[k] != nil {
				v = *l.Data[k]
			}
			fmt.Fprintf(h, "%d %s %x\n", l.Step, k, math.Float64bits(v))
		}
	}
	s, _ := os.ReadFile(filepath.Join(dir, "samples.jsonl"))
	h.Write(s)
	h.Write([]byte(strings.Join(strings.Fields(log.String()), " ")))
	for _, p := range r.Trainer.Model.W.List {
		binary.Write(h, binary.LittleEndian, p.Data)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// candidates are non-default values to try for a key whose current value is cur.
func candidates(key, cur string) []string {
	last := key[strings.LastIndex(key, ".")+1:]
	byKey := map[string]string{
		"task.name":                "multiplication countdown",
		"algorithm.advantage.name": "rloo dr_grpo",
		"algorithm.loss.name":      "cegppo steer",
		"algorithm.entropy.name":   "aent",
		"algorithm.kl.mode":        "loss reward",
		"algorithm.kl.kind":        "k1 abs",
		"base.checkpoint":          filepath.Join(os.TempDir(), "no-such-base"),
		"log.keys":                 "[actor/entropy]",
	}
	if s, ok := byKey[key]; ok {
		return strings.Fields(s)
	}
	switch last {
	case "agg", "loss_agg_mode":
		return []string{"seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm", "token-mean"}
	case "hhat_mode":
		return []string{"as_released"}
	case "reward":
		return []string{"traj"}
	case "singleton":
		return []string{"zero"}
	}
	switch cur {
	case "true":
		return []string{"false"}
	case "false":
		return []string{"true"}
	}
	if i, err := strconv.ParseInt(cur, 10, 64); err == nil && !strings.ContainsAny(cur, ".e") {
		var out []string
		for _, c := range []int64{i + 1, 2 * i, 1, 2, 0, 3, i - 1, 100 * i} {
			if c != i && c >= 0 {
				out = append(out, strconv.FormatInt(c, 10))
			}
		}
		return out
	}
	if f, err := strconv.ParseFloat(cur, 64); err == nil {
		var out []string
		for _, c := range []float64{f * 2, f / 2, f * 100, f / 100, f + 0.5, 0.5, 0.1, 2, 0.9, 0.01, 0.001, 1e-5, 10} {
			if c != f {
				out = append(out, strconv.FormatFloat(c, 'g', -1, 64))
			}
		}
		return out
	}
	return []string{cur + "x"}
}

// namesKey: the error names key in full, or its section and its last part
// ("algorithm.loss: clip: ppo: clip_ratio_c 1 must exceed 1").
func namesKey(err error, key string) bool {
	msg := err.Error()
	if strings.Contains(msg, key) {
		return true
	}
	parts := strings.Split(key, ".")
	return len(parts) >= 2 && strings.Contains(msg, parts[0]) && strings.Contains(msg, parts[len(parts)-1])
}

// TestEverySettingActs walks every key of the schema: a non-default valid
// value either changes what the first step does (in a selection that reads
// the key) or is rejected with an error naming the key; a key the default
// selection does not read is rejected there, by name.
func TestEverySettingActs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs one step per setting")
	}
	flat := Flatten(trainer.DefaultConfig())
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	baseline := map[string]string{}
	load := func(sets []string) (trainer.Config, error) {
		return LoadTrain(DefaultExperiment, nil, append(small(), sets...))
	}
	fp := func(sets []string) (string, error) {
		cfg, err := load(sets)
		if err != nil {
			return "", err
		}
		return fingerprint(t, cfg)
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			if strings.HasPrefix(key, "base.sft.") {
				checkSFTKey(t, key)
				return
			}
			if _, ok := notFirstStep[key]; ok {
				return
			}
			if _, ok := dataDependent[key]; ok {
				return
			}
			if act, _ := Activation(key); slices.Contains(act, "task.name=dataset") {
				// needs task files; a dataset's keys are checked by the dataset
				// tests (reward, configs TestDatasetPaths, examples/reverse);
				// here: refused by name without task.name dataset
				val := candidates(key, "")[0]
				if _, err := load([]string{key + "=" + val}); err == nil || !namesKey(err, key) && !strings.Contains(err.Error(), strings.Join(strings.Split(key, ".")[:2], ".")) {
					t.Fatalf("%s=%s without a dataset task: %v, want a refusal naming it", key, val, err)
				}
				return
			}
			act, ok := Activation(key)
			act = append(act, extraContext[key]...)
			defCfg, err := load(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, inactive := Inactive(defCfg)[key]; inactive || !ok {
				val := candidates(key, Flatten(defCfg)[key])[0]
				if _, err := load([]string{key + "=" + val}); err == nil || !namesKey(err, key) {
					t.Fatalf("%s=%s is not read by the default selection but was accepted (err %v)", key, val, err)
				}
			}
			if !ok {
				return // never read: refused above
			}
			ctxCfg, err := load(act)
			if err != nil {
				t.Fatalf("activating %s with %v: %v", key, act, err)
			}
			ctx := strings.Join(act, " ")
			if _, done := baseline[ctx]; !done {
				b, err := fp(act)
				if err != nil {
					t.Fatalf("baseline %v: %v", act, err)
				}
				baseline[ctx] = b
			}
			var tried []string
			accepted := false
			for _, val := range candidates(key, Flatten(ctxCfg)[key]) {
				got, err := fp(append(append([]string{}, act...), key+"="+val))
				if err != nil {
					if !namesKey(err, key) {
						t.Fatalf("%s=%s (with %v) rejected without naming the key: %v", key, val, act, err)
					}
					tried = append(tried, val+" rejected")
					continue
				}
				if got != baseline[ctx] {
					return // acts
				}
				accepted = true
				tried = append(tried, val+" no change")
			}
			if accepted {
				t.Fatalf("%s (with %v) accepted but changed nothing: %v", key, act, tried)
			}
			t.Logf("%s: every candidate rejected by name: %v", key, tried)
		})
	}
}

// checkSFTKey: base.sft.* act through the base policy, which the test does
// not train; a key that is read changes where the base is cached (its
// settings are hashed into the path), one that is not is refused.
func checkSFTKey(t *testing.T, key string) {
	cfg := trainer.DefaultConfig()
	val := candidates(key, Flatten(cfg)[key])[0]
	got, err := LoadTrain(DefaultExperiment, nil, []string{key + "=" + val})
	if _, inactive := Inactive(cfg)[key]; inactive {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("%s=%s is never read but was accepted (err %v)", key, val, err)
		}
		return
	}
	if err != nil {
		if !strings.Contains(err.Error(), key) {
			t.Fatalf("%s=%s rejected without naming the key: %v", key, val, err)
		}
		return
	}
	if trainer.BasePath(got) == trainer.BasePath(cfg) {
		t.Fatalf("%s=%s does not change the base policy's cache path %s", key, val, trainer.BasePath(cfg))
	}
	// with a base checkpoint given, no SFT setting is read
	if _, err := LoadTrain(DefaultExperiment, nil, []string{"base.checkpoint=x", key + "=" + val}); err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("%s=%s with base.checkpoint set was accepted (err %v)", key, val, err)
	}
}
