package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

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
	// Flags are command-line flags, applied after Sets.
	Flags []Flag
}

// Origins says where each setting's final value came from: "FILE line N",
// "ENTROLAB_X", "--set k=v" or "flag --name". Keys set nowhere are absent.
type Origins map[string]string

// Of is " (from ORIGIN)" for key, or "" when the key kept its default.
func (o Origins) Of(key string) string {
	if w, ok := o[key]; ok {
		return " (from " + w + ")"
	}
	return ""
}

// Flag is a command-line flag that sets a key; it is applied after the
// --set pairs and named in errors as "flag --Name".
type Flag struct {
	Name  string // the flag, without dashes
	Key   string // the setting it sets
	Value string
}

// Load fills out (a pointer to a config struct whose fields carry
// mapstructure tags and already hold the defaults) from src. An unknown key,
// a value of the wrong type (a fraction or a negative number for a count, a
// list for a section), a key given twice in different letter case, a second
// YAML document, an empty file or a malformed --set is an error naming the
// key, the value and where it came from.
func Load(out any, src Source) error {
	_, err := LoadOrigins(out, src)
	return err
}

// LoadOrigins is Load that also says where each set key came from.
func LoadOrigins(out any, src Source) (Origins, error) {
	origins := Origins{}
	defaults := map[string]any{}
	if err := mapstructure.Decode(out, &defaults); err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	known := map[string]reflect.Kind{}
	flatten("", defaults, known)
	types := map[string]reflect.Type{}
	typeIndex("", reflect.TypeOf(out).Elem(), types)

	v := viper.New()
	if err := v.MergeConfigMap(defaults); err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	name, data := src.Name, src.YAML
	if src.File != "" {
		b, err := readConfigFile(src.File)
		if err != nil {
			return nil, err
		}
		name, data = src.File, b
	}
	var doc yaml.Node
	if src.File != "" || src.YAML != nil {
		d, err := decodeOne(name, data)
		if err != nil {
			return nil, err
		}
		doc = d
		root := doc.Content[0]
		if err := checkNode(name, "", root, known, types, origins); err != nil {
			return nil, err
		}
		var m map[string]any
		if err := root.Decode(&m); err != nil {
			return nil, fmt.Errorf("configs: %s: %v", name, err)
		}
		fileKeys := map[string]reflect.Kind{}
		flatten("", m, fileKeys)
		for _, k := range sortedKeys(fileKeys) {
			if _, ok := known[k]; !ok {
				if !isPrefixOfKnown(k, known) {
					return nil, fmt.Errorf("configs: %s: unknown key %q%s%s", name, k, lineOf(&doc, k), suggest(k, known))
				}
			}
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, fmt.Errorf("configs: %s: %v", name, err)
		}
	}
	for _, kv := range src.Env {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix+"_") || notSettings[k] {
			continue
		}
		key := envKey(k, known)
		if key == "" {
			return nil, fmt.Errorf("configs: environment variable %s names no setting%s", k, suggest(strings.ToLower(strings.TrimPrefix(k, EnvPrefix+"_")), known))
		}
		x, err := scalarValue(key, val, types[key], "environment variable "+k)
		if err != nil {
			return nil, err
		}
		v.Set(key, x)
		origins[key] = k
	}
	apply := func(k, val, what string) error {
		if _, isKnown := known[k]; !isKnown {
			return fmt.Errorf("configs: %s: unknown key %q%s", what, k, suggest(k, known))
		}
		x, err := scalarValue(k, val, types[k], what)
		if err != nil {
			return err
		}
		v.Set(k, x)
		origins[k] = what
		return nil
	}
	for _, s := range src.Sets {
		k, val, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("configs: --set %q: want key=value", s)
		}
		if err := apply(k, val, "--set "+s); err != nil {
			return nil, err
		}
	}
	for _, f := range src.Flags {
		if err := apply(f.Key, f.Value, "flag --"+f.Name); err != nil {
			return nil, err
		}
	}
	dec := func(c *mapstructure.DecoderConfig) {
		c.ErrorUnused = true
		c.WeaklyTypedInput = true
	}
	if err := v.UnmarshalExact(out, dec); err != nil {
		return nil, fmt.Errorf("configs: %s", explain(err, name, &doc))
	}
	return origins, nil
}

// MaxConfigBytes bounds a configuration file.
const MaxConfigBytes = 1 << 20

// readConfigFile reads a regular file of at most MaxConfigBytes.
func readConfigFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("configs: %s is not a regular file", path)
	}
	if st.Size() > MaxConfigBytes {
		return nil, fmt.Errorf("configs: %s has %d bytes, more than the %d a configuration may have", path, st.Size(), MaxConfigBytes)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("configs: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("configs: %s: %w", path, err)
	}
	if len(b) > MaxConfigBytes {
		return nil, fmt.Errorf("configs: %s has more than %d bytes", path, MaxConfigBytes)
	}
	return b, nil
}

// decodeOne parses exactly one YAML document whose top level is a mapping.
func decodeOne(name string, data []byte) (yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, fmt.Errorf("configs: %s is empty (an experiment file must set something; an empty one would silently run every default)", name)
		}
		return doc, fmt.Errorf("configs: %s: %v", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return doc, fmt.Errorf("configs: %s: a second YAML document at line %d (a configuration is one document; remove the \"---\")", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return doc, fmt.Errorf("configs: %s: %v", name, err)
	}
	if len(doc.Content) == 0 {
		return doc, fmt.Errorf("configs: %s is empty", name)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return doc, fmt.Errorf("configs: %s is empty (an experiment file must set something; an empty one would silently run every default)", name)
	}
	if root.Kind != yaml.MappingNode {
		return doc, fmt.Errorf("configs: %s line %d: the top level is a %s, want a mapping of settings", name, root.Line, kindName(root))
	}
	return doc, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return "scalar " + strconv.Quote(n.Value)
}

// checkNode walks a YAML mapping: no key twice (in any letter case), a
// section is a mapping, and a leaf value has the type of its field.
func checkNode(name, prefix string, n *yaml.Node, known map[string]reflect.Kind, types map[string]reflect.Type, origins Origins) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			return fmt.Errorf("configs: %s line %d: a key must be a plain name", name, kn.Line)
		}
		lk := strings.ToLower(kn.Value)
		key := lk
		if prefix != "" {
			key = prefix + "." + lk
		}
		if l, dup := seen[lk]; dup {
			return fmt.Errorf("configs: %s line %d: key %q is given twice (also at line %d; keys ignore letter case)", name, kn.Line, key, l)
		}
		seen[lk] = kn.Line
		where := fmt.Sprintf("%s line %d", name, vn.Line)
		if vn.Kind == yaml.AliasNode && vn.Alias != nil {
			vn = vn.Alias
		}
		if t, leaf := types[key]; leaf {
			var x any
			if err := vn.Decode(&x); err != nil {
				return fmt.Errorf("configs: key %q (%s): %v", key, where, err)
			}
			if err := checkValue(key, x, t, where); err != nil {
				return err
			}
			origins[key] = where
			continue
		}
		if _, ok := known[key]; ok {
			origins[key] = where // a leaf without a struct field type (kept as decoded)
			continue
		}
		if isPrefixOfKnown(key, known) {
			if vn.Kind != yaml.MappingNode {
				return fmt.Errorf("configs: key %q (%s) is a section: want a mapping of its settings, got a %s", key, where, kindName(vn))
			}
			if err := checkNode(name, key, vn, known, types, origins); err != nil {
				return err
			}
		}
		// unknown keys are reported by the caller, with a suggestion
	}
	return nil
}

// scalarValue parses a value given as text (environment, --set, a flag)
// and checks it against the field's type. A string field keeps the text.
func scalarValue(key, val string, t reflect.Type, what string) (any, error) {
	if t != nil && t.Kind() == reflect.String {
		return val, nil
	}
	var parsed any
	if err := yaml.Unmarshal([]byte(val), &parsed); err != nil || parsed == nil {
		parsed = val
	}
	if t != nil {
		if err := checkValue(key, parsed, t, what); err != nil {
			return nil, err
		}
	}
	return parsed, nil
}

// maxExactInt is the largest integer a float64 holds exactly.
const maxExactInt = 1 << 53

// checkValue checks a decoded value against a field type: integers are
// whole numbers in range (no fractions; no negatives for unsigned),
// numbers are numbers, booleans are booleans, lists are lists.
func checkValue(key string, x any, t reflect.Type, where string) error {
	bad := func(want string) error {
		return fmt.Errorf("configs: key %q (%s) = %s: want %s", key, where, show(x), want)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		unsigned := t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64
		want := "an integer"
		if unsigned {
			want = "a non-negative integer"
		}
		var lo, hi float64
		if unsigned {
			lo, hi = 0, math.Ldexp(1, t.Bits())
		} else {
			lo, hi = -math.Ldexp(1, t.Bits()-1), math.Ldexp(1, t.Bits()-1)
		}
		switch n := x.(type) {
		case int:
			if unsigned && n < 0 {
				return bad(want)
			}
			if t.Bits() < 64 && (float64(n) < lo || float64(n) >= hi) {
				return bad(fmt.Sprintf("%s of %d bits", want, t.Bits()))
			}
		case uint64:
			if !unsigned {
				return bad(fmt.Sprintf("%s below 2^63", want))
			}
		case float64:
			if n != math.Trunc(n) || math.IsInf(n, 0) || math.IsNaN(n) {
				return bad(want + " (no fraction)")
			}
			if math.Abs(n) > maxExactInt || n < lo || n >= hi {
				return bad(fmt.Sprintf("%s up to 2^53 written with an exponent (write larger ones out in full)", want))
			}
		default:
			return bad(want)
		}
	case reflect.Float32, reflect.Float64:
		switch x.(type) {
		case int, uint64, float64:
		default:
			return bad("a number")
		}
	case reflect.Bool:
		if _, ok := x.(bool); !ok {
			return bad("true or false")
		}
	case reflect.String:
		switch x.(type) {
		case []any, map[string]any:
			return bad("a string")
		}
	case reflect.Slice, reflect.Array:
		xs, ok := x.([]any)
		if !ok {
			return bad("a list")
		}
		if t.Kind() == reflect.Array && len(xs) != t.Len() {
			return bad(fmt.Sprintf("a list of %d", t.Len()))
		}
		for i, e := range xs {
			if err := checkValue(fmt.Sprintf("%s[%d]", key, i), e, t.Elem(), where); err != nil {
				return err
			}
		}
	}
	return nil
}

func show(x any) string {
	switch t := x.(type) {
	case string:
		return strconv.Quote(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case nil:
		return "null"
	}
	return fmt.Sprint(x)
}

// typeIndex maps each leaf key of a config struct type to its field type.
func typeIndex(prefix string, t reflect.Type, out map[string]reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "squash") {
			typeIndex(prefix, f.Type, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := strings.ToLower(name)
		if prefix != "" {
			key = prefix + "." + key
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			typeIndex(key, ft, out)
			continue
		}
		if ft.Kind() == reflect.Map || ft.Kind() == reflect.Interface {
			continue
		}
		out[key] = ft
	}
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
