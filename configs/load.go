package configs

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override: ENTROLAB_OPTIM_LR=3e-4 sets
// optim.lr (dots become underscores, letters upper-case).
const EnvPrefix = "ENTROLAB"

// notSettings are ENTROLAB_* variables that are not run settings.
var notSettings = map[string]bool{
	"ENTROLAB_BLAS": true, // BLAS choice, read by internal/oblas
}

// Source says where settings come from, lowest precedence first: the
// defaults in the target struct, YAML (a file or bytes), ENTROLAB_*
// environment variables, then --set key=value pairs.
type Source struct {
	File string   // YAML file; "" for none
	YAML []byte   // YAML bytes (a bundled config) used when File is ""
	Name string   // how YAML is named in errors when File is ""
	Env  []string // KEY=VALUE pairs to read overrides from (os.Environ()); nil: none
	Sets []string // key=value overrides
}

// Load fills out (a pointer to a config struct whose fields carry
// mapstructure tags and already hold the defaults) from src. An unknown key,
// a value of the wrong type, or a malformed --set is an error naming the key
// and, for YAML, the file and line.
func Load(out any, src Source) error {
	defaults := map[string]any{}
	if err := mapstructure.Decode(out, &defaults); err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	known := map[string]reflect.Kind{}
	flatten("", defaults, known)

	v := viper.New()
	if err := v.MergeConfigMap(defaults); err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	name, data := src.Name, src.YAML
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			return fmt.Errorf("configs: %w", err)
		}
		name, data = src.File, b
	}
	var doc yaml.Node
	if len(data) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("configs: %s: %v", name, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("configs: %s: %v", name, err)
		}
		fileKeys := map[string]reflect.Kind{}
		flatten("", m, fileKeys)
		for _, k := range sortedKeys(fileKeys) {
			if _, ok := known[k]; !ok {
				if !isPrefixOfKnown(k, known) {
					return fmt.Errorf("configs: %s: unknown key %q%s%s", name, k, lineOf(&doc, k), suggest(k, known))
				}
			}
		}
		v.SetConfigType("yaml")
		if err := v.MergeConfig(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("configs: %s: %v", name, err)
		}
	}
	for _, kv := range src.Env {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix+"_") || notSettings[k] {
			continue
		}
		key := envKey(k, known)
		if key == "" {
			return fmt.Errorf("configs: environment variable %s names no setting%s", k, suggest(strings.ToLower(strings.TrimPrefix(k, EnvPrefix+"_")), known))
		}
		v.Set(key, val)
	}
	for _, s := range src.Sets {
		k, val, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("configs: --set %q: want key=value", s)
		}
		if _, isKnown := known[k]; !isKnown {
			return fmt.Errorf("configs: --set %s: unknown key %q%s", s, k, suggest(k, known))
		}
		var parsed any
		if err := yaml.Unmarshal([]byte(val), &parsed); err != nil || parsed == nil {
			parsed = val
		}
		v.Set(k, parsed)
	}
	dec := func(c *mapstructure.DecoderConfig) {
		c.ErrorUnused = true
		c.WeaklyTypedInput = true
	}
	if err := v.UnmarshalExact(out, dec); err != nil {
		return fmt.Errorf("configs: %s", explain(err, name, &doc))
	}
	return nil
}

// flatten lists every leaf key of m as dotted paths.
func flatten(prefix string, m map[string]any, out map[string]reflect.Kind) {
	for k, x := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if sub, ok := x.(map[string]any); ok && len(sub) > 0 {
			flatten(key, sub, out)
			continue
		}
		if x == nil {
			out[key] = reflect.Invalid
			continue
		}
		out[key] = reflect.TypeOf(x).Kind()
	}
}

func isPrefixOfKnown(k string, known map[string]reflect.Kind) bool {
	for kk := range known {
		if strings.HasPrefix(kk, k+".") {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]reflect.Kind) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// envKey maps ENTROLAB_OPTIM_MAX_GRAD_NORM to optim.max_grad_norm.
func envKey(env string, known map[string]reflect.Kind) string {
	want := strings.ToLower(strings.TrimPrefix(env, EnvPrefix+"_"))
	for k := range known {
		if strings.ReplaceAll(k, ".", "_") == want {
			return k
		}
	}
	return ""
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// suggest names the closest known key, if one is close.
func suggest(k string, known map[string]reflect.Kind) string {
	best, bestD := "", 4
	for kk := range known {
		if d := editDistance(k, kk); d < bestD || (d == bestD && kk < best) {
			best, bestD = kk, d
		}
	}
	if best == "" {
		last := k[strings.LastIndex(k, ".")+1:]
		for _, kk := range sortedKeys(known) {
			if strings.HasSuffix(kk, "."+last) {
				return fmt.Sprintf(" (did you mean %q?)", kk)
			}
		}
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// lineOf finds " (file line N)" for a dotted key in a YAML document.
func lineOf(doc *yaml.Node, key string) string {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(key, ".") {
		if n.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, part) {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	if line == 0 {
		return ""
	}
	return " at line " + strconv.Itoa(line)
}

// explain rewrites mapstructure's decode errors to name the key and line.
func explain(err error, name string, doc *yaml.Node) string {
	var msgs []string
	for _, m := range strings.Split(err.Error(), "\n") {
		m = strings.TrimSpace(m)
		if m == "" || strings.HasPrefix(m, "decoding failed") {
			continue
		}
		if k := quotedKey.FindStringSubmatch(m); k != nil {
			where := ""
			if name != "" {
				if l := lineOf(doc, k[1]); l != "" {
					where = " (" + name + l + ")"
				}
			}
			m = fmt.Sprintf("key %q%s: %s", k[1], where, m)
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

var quotedKey = regexp.MustCompile(`['"]([A-Za-z0-9_.\[\]]+)['"]`)

// Dump renders a config struct as YAML with its mapstructure key names (the
// resolved config written into a run directory).
func Dump(cfg any) ([]byte, error) {
	m := map[string]any{}
	if err := mapstructure.Decode(cfg, &m); err != nil {
		return nil, err
	}
	return yaml.Marshal(normalize(m))
}

// normalize turns nested structs that mapstructure left as values into maps.
func normalize(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range t {
			out[k] = normalize(v)
		}
		return out
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Struct {
		m := map[string]any{}
		if err := mapstructure.Decode(x, &m); err == nil {
			return normalize(m)
		}
	}
	return x
}
