package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/trainer"
	"gopkg.in/yaml.v3"
)

// ConfigID is a cell's stable id: the first 12 hex digits of the SHA-256 of
// its resolved config as configs.Dump writes it (sorted keys, so the same
// settings give the same id on every machine).
func ConfigID(cfg trainer.Config) (string, error) {
	b, err := configs.Dump(cfg)
	if err != nil {
		return "", fmt.Errorf("sweep: config id: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6]), nil
}

// flatConfig is a config as dotted key -> value.
func flatConfig(cfg trainer.Config) (map[string]any, error) {
	b, err := configs.Dump(cfg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(key, sub)
				continue
			}
			out[key] = v
		}
	}
	walk("", m)
	return out, nil
}

// settingValues reads the values of dotted keys from a resolved config.
func settingValues(cfg trainer.Config, keys []string) ([]string, error) {
	flat, err := flatConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		v, ok := flat[k]
		if !ok {
			return nil, fmt.Errorf("sweep: override key %q is not a setting of the resolved config", k)
		}
		out[i] = formatValue(v)
	}
	return out, nil
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, formatValue(x))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// configDiff lists the settings in which two configs differ, as
// "key: stored X, requested Y", sorted by key; empty when they are equal.
// The base checkpoint is compared as the path each one resolves to (a run's
// config.yaml records the default base's path, the manifest leaves it empty).
func configDiff(stored, want trainer.Config) ([]string, error) {
	for _, c := range []*trainer.Config{&stored, &want} {
		if c.Base.Checkpoint == "" {
			c.Base.Checkpoint = trainer.BasePath(*c)
		}
		c.Base.SFT = trainer.DefaultConfig().Base.SFT // read only to make the base, whose path above hashes them; config.yaml leaves them out
	}
	a, err := flatConfig(stored)
	if err != nil {
		return nil, err
	}
	b, err := flatConfig(want)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		x, okx := a[k]
		y, oky := b[k]
		if okx && oky && reflect.DeepEqual(x, y) {
			continue
		}
		sx, sy := "(absent)", "(absent)"
		if okx {
			sx = formatValue(x)
		}
		if oky {
			sy = formatValue(y)
		}
		out = append(out, fmt.Sprintf("%s: stored %s, requested %s", k, sx, sy))
	}
	sort.Strings(out)
	return out, nil
}
