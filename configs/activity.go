package configs

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/experiment"
	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"
)

// readBy says which selection makes the trainer read a group of settings:
// the settings under Prefix are read only when the setting Selector has one
// of Values (a value "!x" means "anything but x"). The longest matching
// prefix decides; a key no rule matches is always read. A rule with no
// Selector marks settings no code reads at all (they are refused when given
// and left out of config.yaml).
//
// This is the one place that ties sub-configs to the method names that read
// them: a new method part with settings of its own adds its rows here, and
// TestEverySettingActs fails until it does.
type readBy struct {
	Prefix   string
	Selector string
	Values   []string
	Why      string // for rules with no Selector: what is used instead
}

var clipLosses = []string{"ppo", "ppo_clip_higher", "clip_cov", "kl_cov", "cegppo", "hapo", "gspo", "cispo", "sapo", "entropy_adv"}

var readByTable = []readBy{
	// advantage estimators
	{Prefix: "algorithm.advantage.grpo", Selector: "algorithm.advantage.name", Values: []string{"grpo"}},
	{Prefix: "algorithm.advantage.grpo.eps", Selector: "algorithm.advantage.name", Values: []string{"grpo", "dr_grpo"}},
	{Prefix: "algorithm.advantage.rloo", Selector: "algorithm.advantage.name", Values: []string{"rloo"}},
	{Prefix: "algorithm.advantage.reinforce_pp", Selector: "algorithm.advantage.name", Values: []string{"reinforce_pp", "reinforce_pp_baseline"}},
	{Prefix: "algorithm.advantage.aapo", Selector: "algorithm.advantage.name", Values: []string{"aapo"}},
	{Prefix: "algorithm.advantage.hapo", Selector: "algorithm.advantage.name", Values: []string{"hapo"}},
	// clip-family policy losses
	{Prefix: "algorithm.loss.loss_agg_mode", Selector: "algorithm.loss.name", Values: clipLosses},
	{Prefix: "algorithm.loss.ppo", Selector: "algorithm.loss.name", Values: []string{"ppo"}},
	{Prefix: "algorithm.loss.ppo_clip_higher", Selector: "algorithm.loss.name", Values: []string{"ppo_clip_higher"}},
	{Prefix: "algorithm.loss.clip_cov", Selector: "algorithm.loss.name", Values: []string{"clip_cov"}},
	{Prefix: "algorithm.loss.kl_cov", Selector: "algorithm.loss.name", Values: []string{"kl_cov"}},
	{Prefix: "algorithm.loss.cegppo", Selector: "algorithm.loss.name", Values: []string{"cegppo"}},
	{Prefix: "algorithm.loss.hapo", Selector: "algorithm.loss.name", Values: []string{"hapo"}},
	{Prefix: "algorithm.loss.gspo", Selector: "algorithm.loss.name", Values: []string{"gspo"}},
	{Prefix: "algorithm.loss.cispo", Selector: "algorithm.loss.name", Values: []string{"cispo"}},
	{Prefix: "algorithm.loss.sapo", Selector: "algorithm.loss.name", Values: []string{"sapo"}},
	{Prefix: "algorithm.loss.entropy_adv", Selector: "algorithm.loss.name", Values: []string{"entropy_adv"}},
	// entropy-family policy losses
	{Prefix: "algorithm.loss.steer", Selector: "algorithm.loss.name", Values: []string{"steer"}},
	{Prefix: "algorithm.loss.aepo", Selector: "algorithm.loss.name", Values: []string{"aepo"}},
	// entropy regularizers
	{Prefix: "algorithm.entropy.bonus", Selector: "algorithm.entropy.name", Values: []string{"bonus", "adaptive_bonus"}},
	{Prefix: "algorithm.entropy.adaptive", Selector: "algorithm.entropy.name", Values: []string{"adaptive_bonus"}},
	{Prefix: "algorithm.entropy.aent", Selector: "algorithm.entropy.name", Values: []string{"aent"}},
	{Prefix: "algorithm.entropy.em", Selector: "algorithm.entropy.name", Values: []string{"em"}},
	// the scale factor of seq-mean-token-sum-norm aggregation
	{Prefix: "algorithm.loss.loss_scale_factor", Selector: "algorithm.loss.loss_agg_mode", Values: []string{"seq-mean-token-sum-norm"}},
	{Prefix: "algorithm.kl.loss_scale_factor", Selector: "algorithm.kl.loss_agg_mode", Values: []string{"seq-mean-token-sum-norm"}},
	{Prefix: "algorithm.entropy.bonus.loss_scale_factor", Selector: "algorithm.entropy.bonus.agg", Values: []string{"seq-mean-token-sum-norm"}},
	{Prefix: "algorithm.loss.steer.loss_scale_factor", Selector: "algorithm.loss.steer.agg", Values: []string{"seq-mean-token-sum-norm"}},
	// AEnt's coefficient controller
	{Prefix: "algorithm.entropy.aent.coeff_box_high", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	{Prefix: "algorithm.entropy.aent.coeff_box_low", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	{Prefix: "algorithm.entropy.aent.coeff_lr", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	{Prefix: "algorithm.entropy.aent.entropy_high", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	{Prefix: "algorithm.entropy.aent.entropy_low", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	{Prefix: "algorithm.entropy.aent.warmup_steps", Selector: "algorithm.entropy.aent.adaptive_coeff", Values: []string{"true"}},
	// EM-FT (the regularizer) reads only coef and agg; reward and per_token are EM-RL's
	{Prefix: "algorithm.entropy.em.reward", Why: "EM-FT reads only algorithm.entropy.em.coef and agg (the EM-RL reward is algorithm.em_rl)"},
	{Prefix: "algorithm.entropy.em.per_token", Why: "EM-FT reads only algorithm.entropy.em.coef and agg (the EM-RL reward is algorithm.em_rl)"},
	// KL to the base policy
	{Prefix: "algorithm.kl.kind", Selector: "algorithm.kl.mode", Values: []string{"loss", "reward"}},
	{Prefix: "algorithm.kl.coef", Selector: "algorithm.kl.mode", Values: []string{"loss", "reward"}},
	{Prefix: "algorithm.kl.loss_agg_mode", Selector: "algorithm.kl.mode", Values: []string{"loss"}},
	// switched parts
	{Prefix: "algorithm.hapo_temperature", Selector: "algorithm.hapo_temperature.enabled", Values: []string{"true"}},
	{Prefix: "algorithm.hapo_temperature.enabled"},
	{Prefix: "algorithm.aepo", Selector: "algorithm.loss.name", Values: []string{"aepo"}},
	{Prefix: "algorithm.em_rl", Selector: "algorithm.em_rl.enabled", Values: []string{"true"}},
	{Prefix: "algorithm.em_rl.enabled"},
	{Prefix: "algorithm.em_rl.agg", Why: "EM-RL's reward reads only algorithm.em_rl.reward and per_token"},
	{Prefix: "algorithm.em_rl.coef", Why: "EM-RL's reward reads only algorithm.em_rl.reward and per_token"},
	// the base policy: made by SFT only when no checkpoint is given
	{Prefix: "base.sft", Selector: "base.checkpoint", Values: []string{""}},
	{Prefix: "base.sft.task", Why: "the base is trained on the run's task (task.*)"},
	{Prefix: "base.sft.max_new_tokens", Why: "the base is evaluated with sampling.max_new_tokens"},
	// tasks
	{Prefix: "task.addition", Selector: "task.name", Values: []string{"addition"}},
	{Prefix: "task.multiplication", Selector: "task.name", Values: []string{"multiplication"}},
	{Prefix: "task.countdown", Selector: "task.name", Values: []string{"countdown"}},
	// the cosine floor exists only with a decay
	{Prefix: "optim.min_lr_ratio", Selector: "optim.total_steps", Values: []string{"!0"}},
	// a task read from files (task.name: dataset) and its verifier
	{Prefix: "task.train", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.test", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.tokenizer", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.verifier", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.allow_overlap", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.numeric", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.choice", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.regex", Selector: "task.name", Values: []string{"dataset"}},
	{Prefix: "task.expression", Selector: "task.name", Values: []string{"dataset"}},
	// sampling details read only when they apply
	{Prefix: "eval.temperature", Selector: "eval.k", Values: []string{"!0"}},
	{Prefix: "eval.temperature", Selector: "eval.final_k", Values: []string{"!0"}},
	{Prefix: "log.samples", Selector: "log.sample_every", Values: []string{"!0"}},
}

// rulesFor is the longest rules whose prefix covers key (several rows with
// one prefix: the key is read when any of them holds), or nil.
func rulesFor(key string) []*readBy {
	var best []*readBy
	for i := range readByTable {
		r := &readByTable[i]
		if key == r.Prefix || strings.HasPrefix(key, r.Prefix+".") {
			switch {
			case best == nil || len(r.Prefix) > len(best[0].Prefix):
				best = []*readBy{r}
			case len(r.Prefix) == len(best[0].Prefix):
				best = append(best, r)
			}
		}
	}
	return best
}

// Flatten lists every leaf setting of cfg as a dotted key with its value
// rendered as YAML would write it.
func Flatten(cfg experiment.Config) map[string]string {
	m := map[string]any{}
	if err := mapstructure.Decode(cfg, &m); err != nil {
		panic(err) // a Config always decodes
	}
	out := map[string]string{}
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
		x = normalize(x)
		if sub, ok := x.(map[string]any); ok {
			for k, v := range sub {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, v)
			}
			return
		}
		out[prefix] = scalar(x)
	}
	walk("", m)
	return out
}

// scalar renders a leaf the way YAML writes it ("0.0001", "true", "ppo").
func scalar(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	if x == nil || (reflect.ValueOf(x).Kind() == reflect.Slice && reflect.ValueOf(x).Len() == 0) {
		return ""
	}
	b, err := yaml.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return strings.TrimSpace(string(b))
}

// Inactive lists the settings of cfg that its selection does not read, each
// with the reason: "read only when algorithm.loss.name is clip_cov (it is ppo)".
func Inactive(cfg experiment.Config) map[string]string {
	flat := Flatten(cfg)
	out := map[string]string{}
	for k := range flat {
		if why := inactiveWhy(k, flat); why != "" {
			out[k] = why
		}
	}
	return out
}

func inactiveWhy(key string, flat map[string]string) string {
	var whys []string
	for _, r := range rulesFor(key) {
		why := ruleWhy(r, flat)
		if why == "" {
			return ""
		}
		whys = append(whys, why)
	}
	return strings.Join(whys, "; ")
}

// ruleWhy is why r leaves its settings unread in flat ("" when they are read).
func ruleWhy(r *readBy, flat map[string]string) string {
	if r.Selector == "" {
		if r.Why == "" {
			return "" // always read (a switch inside a switched section)
		}
		return "no code reads it: " + r.Why
	}
	got := flat[r.Selector]
	for _, v := range r.Values {
		if neg, ok := strings.CutPrefix(v, "!"); ok {
			if got != neg {
				return ""
			}
		} else if got == v {
			return ""
		}
	}
	want := make([]string, len(r.Values))
	for i, v := range r.Values {
		if neg, ok := strings.CutPrefix(v, "!"); ok {
			want[i] = "not " + quoteEmpty(neg)
		} else {
			want[i] = quoteEmpty(v)
		}
	}
	return fmt.Sprintf("read only when %s is %s (it is %s)", r.Selector, strings.Join(want, " or "), quoteEmpty(got))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Activation is a set of key=value pairs under which key is read (for the
// schema test and for error messages): the rule's selector set to its first
// allowed value. It is nil for a key that is always read, and ok is false for
// one that is never read.
func Activation(key string) (sets []string, ok bool) {
	var r *readBy
	if rs := rulesFor(key); len(rs) > 0 {
		r = rs[0] // the first of several: any one activates the key
	}
	if r == nil || (r.Selector == "" && r.Why == "") {
		return nil, true
	}
	if r.Selector == "" {
		return nil, false
	}
	v := r.Values[0]
	if neg, isNeg := strings.CutPrefix(v, "!"); isNeg {
		v = map[string]string{"0": "1", "": "x", "false": "true"}[neg]
	}
	sets = []string{r.Selector + "=" + v}
	if more, _ := Activation(r.Selector); len(more) > 0 {
		sets = append(more, sets...)
	}
	return sets, true
}

// checkGiven refuses every explicitly given setting that cfg's selection
// does not read and that holds another value than its default, naming each
// with where it came from and why it is not read.
func checkGiven(cfg experiment.Config, given []string, where map[string]string) error {
	inactive := Inactive(cfg)
	now, def := Flatten(cfg), Flatten(experiment.DefaultConfig())
	var msgs []string
	for _, k := range given {
		if now[k] == def[k] {
			continue // states the value an unset key has (a full dump does): nothing is ignored
		}
		if why, ok := inactive[k]; ok {
			msgs = append(msgs, fmt.Sprintf("%s (%s) is not used: %s", k, where[k], why))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	return fmt.Errorf("configs: %s; remove it or select a method that reads it", strings.Join(msgs, "; "))
}

// DumpActive renders cfg like Dump without the settings its selection does
// not read: config.yaml states what the run used and nothing else.
func DumpActive(cfg experiment.Config) ([]byte, error) {
	m := map[string]any{}
	if err := mapstructure.Decode(cfg, &m); err != nil {
		return nil, err
	}
	tree := normalize(m).(map[string]any)
	inactive := Inactive(cfg)
	keys := make([]string, 0, len(inactive))
	for k := range inactive {
		keys = append(keys, k)
	}
	for _, k := range keys {
		deletePath(tree, strings.Split(k, "."))
	}
	return yaml.Marshal(tree)
}

// deletePath removes a dotted leaf and any map it leaves empty.
func deletePath(m map[string]any, parts []string) {
	if len(parts) == 1 {
		delete(m, parts[0])
		return
	}
	sub, ok := m[parts[0]].(map[string]any)
	if !ok {
		return
	}
	deletePath(sub, parts[1:])
	if len(sub) == 0 {
		delete(m, parts[0])
	}
}
