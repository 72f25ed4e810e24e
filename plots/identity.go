package plots

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// NotIdentity are the settings of config.yaml that do not make a run a
// different configuration: the seed (runs differing only in it share one
// band), the run directory, and the logging and checkpoint cadence and the
// evaluation cadence, which change what is recorded, never what a step
// computes. A key ending in "." covers its section.
var NotIdentity = []string{"seed", "out", "log.", "checkpoint.", "eval.every"}

func notIdentity(key string) bool {
	for _, p := range NotIdentity {
		if key == p || strings.HasSuffix(p, ".") && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// maxLabelSettings bounds the settings a series label lists.
const maxLabelSettings = 4

// flattenConfig lists every leaf of a YAML mapping as a dotted key with its
// value as YAML writes it.
func flattenConfig(b []byte) (map[string]string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
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
		v, _ := yaml.Marshal(x)
		out[prefix] = strings.TrimSpace(string(v))
	}
	walk("", m)
	return out, nil
}

// identityKey hashes a run's resolved config without NotIdentity: runs with
// equal keys differ in nothing but the seed.
func identityKey(cfg map[string]string) string {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		if !notIdentity(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, cfg[k])
	}
	return fmt.Sprintf("config-%x", h.Sum(nil)[:8])
}

// isIdentity reports whether a group key is an identityKey (not a grouping
// the caller set).
func isIdentity(key string) bool { return strings.HasPrefix(key, "config-") }

// readIdentity fills r.Config from dir/config.yaml and makes r.Group its
// identity.
func readIdentity(r *Run, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return
	}
	SetIdentity(r, b)
}

// SetIdentity fills r.Config from a run's config.yaml and makes r.Group its
// identity, as ReadRun does (for readers of runs that parse files themselves).
func SetIdentity(r *Run, configYAML []byte) {
	b := configYAML
	cfg, err := flattenConfig(b)
	if err != nil || len(cfg) == 0 {
		return
	}
	r.Config = cfg
	r.Group = identityKey(cfg)
}

// Distinguishing lists, for each group, the settings that set it apart
// from the other groups of the same name ("optim.lr=0.001"), sorted by key.
// Groups without a resolved config get none.
func Distinguishing(groups []Group) [][]string {
	out := make([][]string, len(groups))
	byName := map[string][]int{}
	for i, g := range groups {
		if c := g.Runs[0].Config; c != nil && isIdentity(g.Key) {
			byName[c["name"]] = append(byName[c["name"]], i)
		}
	}
	for _, idx := range byName {
		if len(idx) < 2 {
			continue
		}
		keys := map[string]bool{}
		for _, i := range idx {
			for k := range groups[i].Runs[0].Config {
				keys[k] = true
			}
		}
		var differ []string
		for k := range keys {
			if notIdentity(k) {
				continue
			}
			v0, ok0 := groups[idx[0]].Runs[0].Config[k]
			for _, i := range idx[1:] {
				if v, ok := groups[i].Runs[0].Config[k]; v != v0 || ok != ok0 {
					differ = append(differ, k)
					break
				}
			}
		}
		sort.Strings(differ)
		for _, i := range idx {
			c := groups[i].Runs[0].Config
			for _, k := range differ {
				v, ok := c[k]
				if !ok {
					v = "(unset)"
				}
				out[i] = append(out[i], k+"="+v)
			}
		}
	}
	return out
}

// nameGroups gives each group its legend name: the config's name, followed
// by the settings that set it apart from same-named groups.
func nameGroups(groups []Group) {
	dist := Distinguishing(groups)
	for i := range groups {
		g := &groups[i]
		c := g.Runs[0].Config
		if c == nil || !isIdentity(g.Key) {
			continue // no config, or grouped explicitly (Run.Group set by the caller): keep its key
		}
		name := c["name"]
		if name == "" {
			name = g.Runs[0].Label
		}
		d := dist[i]
		if len(d) > maxLabelSettings {
			d = append(d[:maxLabelSettings:maxLabelSettings], fmt.Sprintf("+%d more", len(dist[i])-maxLabelSettings))
		}
		g.Name = strings.TrimSpace(name + " " + strings.Join(d, " "))
	}
}

// SeriesLines describes each group formed from runs, one line each
// beginning "series:": its name, its runs (directory and seed) and the
// settings that set it apart.
func SeriesLines(runs []*Run) []string {
	groups := GroupRuns(runs)
	dist := Distinguishing(groups)
	var out []string
	for i, g := range groups {
		var members []string
		for _, r := range g.Runs {
			m := r.Dir
			if m == "" {
				m = r.Label
			}
			if r.Seed != "" {
				m += " (seed " + r.Seed + ")"
			}
			members = append(members, m)
		}
		what := "mean over seeds with a 95% bootstrap CI band"
		if len(g.Runs) == 1 {
			what = "one run"
		}
		line := fmt.Sprintf("series: %s: %s: %s", g.Label(), what, strings.Join(members, ", "))
		if len(dist[i]) > 0 {
			line += "; differs by " + strings.Join(dist[i], " ")
		}
		out = append(out, line)
	}
	return out
}
