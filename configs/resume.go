package configs

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/experiment"
)

// ResumeChangeable are the settings a resumed run may change: they decide
// how long it runs and what it logs, evaluates and checkpoints, never what a
// step computes. A prefix ending in "." covers its section.
var ResumeChangeable = []string{"train.steps", "log.", "eval.every", "checkpoint.every", "checkpoint.keep"}

// Change is one setting a resume changed.
type Change struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

func changeable(key string) bool {
	for _, p := range ResumeChangeable {
		if key == p || strings.HasSuffix(p, ".") && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// LoadResume reads the run directory's config.yaml, applies the ENTROLAB_*
// variables and --set pairs over it, and refuses any change outside
// ResumeChangeable, naming the key, the run's value and the requested one.
// It returns the config to continue with and the allowed changes made.
func LoadResume(dir string, env, sets []string, flags []Flag) (experiment.Config, []Change, error) {
	path := filepath.Join(dir, "config.yaml")
	stored, err := LoadResolved(path)
	if err != nil {
		return stored, nil, err
	}
	cfg := experiment.DefaultConfig()
	src := Source{File: path, Env: env, Sets: sets, Flags: flags}
	origins, err := LoadOrigins(&cfg, src)
	if err != nil {
		return cfg, nil, err
	}
	ResolvePaths(&cfg.Task, &cfg.Reward, src.File)
	if err := cfg.Validate(); err != nil {
		return cfg, nil, WithOrigin(err, origins)
	}
	// what the resume asks for beyond the run's own file
	where := Origins{}
	var given []string
	for k, o := range origins {
		if !strings.HasPrefix(o, path) {
			where[k] = o
			given = append(given, k)
		}
	}
	sort.Strings(given)
	if err := checkGiven(cfg, given, where); err != nil {
		return cfg, nil, err
	}
	changes, refused := Diff(stored, cfg, where)
	if len(refused) > 0 {
		return cfg, nil, fmt.Errorf("configs: --resume %s: its config.yaml states what produced its data, so a resume may change only %s; refused: %s (start a new run with --out instead)",
			dir, strings.ReplaceAll(strings.Join(ResumeChangeable, ", "), "log.", "log.*"), strings.Join(refused, "; "))
	}
	return cfg, changes, nil
}

// Diff compares a run's stored config with a requested one over the
// settings either reads: the changes ResumeChangeable allows, and one
// message per other difference ("optim.lr is 0.0001 in the run, 0.001 by
// --set optim.lr=1e-3"; where names the source of each requested key, if
// known). A sweep cell can use it to refuse reusing a run directory whose
// config differs from the one requested.
func Diff(stored, requested experiment.Config, where map[string]string) (allowed []Change, refused []string) {
	old, now := Flatten(stored), Flatten(requested)
	oldOff, nowOff := Inactive(stored), Inactive(requested)
	keys := make([]string, 0, len(now))
	for k := range now {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_, a := oldOff[k]
		_, b := nowOff[k]
		if old[k] == now[k] || a && b {
			continue
		}
		if changeable(k) {
			allowed = append(allowed, Change{Key: k, Old: old[k], New: now[k]})
			continue
		}
		from := where[k]
		if from == "" {
			from = "request"
		}
		refused = append(refused, fmt.Sprintf("%s is %s in the run, %s by %s", k, quoteEmpty(old[k]), quoteEmpty(now[k]), from))
	}
	return allowed, refused
}

// LoadResolved reads a config entrolab wrote itself (a run's config.yaml, a
// sweep cell's resolved config, Dump's output): strictly, validated, but
// without LoadTrain's refusal of settings the selection does not read, since
// a full dump states every setting, read or not, at the value it had.
func LoadResolved(path string) (experiment.Config, error) {
	cfg := experiment.DefaultConfig()
	src := Source{File: path}
	origins, err := LoadOrigins(&cfg, src)
	if err != nil {
		return cfg, err
	}
	ResolvePaths(&cfg.Task, &cfg.Reward, src.File)
	if err := cfg.Validate(); err != nil {
		return cfg, WithOrigin(err, origins)
	}
	return cfg, nil
}
