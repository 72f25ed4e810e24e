package configs

import (
	"embed"
	"errors"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/experiment"
)

//go:embed experiments/*.yaml sweeps/*.yaml
var bundled embed.FS

// DefaultExperiment is what `entrolab train` runs with no arguments.
const DefaultExperiment = "grpo_addition"

// Experiments lists the bundled experiment names (file names without .yaml).
func Experiments() []string {
	ents, _ := fs.ReadDir(bundled, "experiments")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Experiment returns a bundled experiment's YAML.
func Experiment(name string) ([]byte, error) {
	b, err := bundled.ReadFile("experiments/" + name + ".yaml")
	if err != nil {
		known := map[string]reflect.Kind{}
		for _, e := range Experiments() {
			known[e] = reflect.String
		}
		hint := suggest(name, known)
		if hint == "" && strings.ContainsAny(name, "/.") {
			hint = " (no such file either)"
		}
		return nil, fmt.Errorf("configs: %w %q%s (known: %s)", ErrUnknownExperiment, name, hint, strings.Join(Experiments(), ", "))
	}
	return b, nil
}

// Describe is the first comment line of a bundled experiment.
func Describe(name string) string {
	b, err := Experiment(name)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			return strings.TrimSpace(strings.TrimPrefix(l, "#"))
		}
	}
	return ""
}

// LoadTrain resolves an experiment: experiment.DefaultConfig, then either a YAML
// file (when nameOrFile names an existing file) or a bundled experiment,
// then ENTROLAB_* environment variables, then --set pairs; then validates.
func LoadTrain(nameOrFile string, env, sets []string) (experiment.Config, error) {
	return LoadTrainFlags(nameOrFile, env, sets, nil)
}

// LoadTrainFlags is LoadTrain with command-line flags applied last. A
// validation error names where the offending value came from.
func LoadTrainFlags(nameOrFile string, env, sets []string, flags []Flag) (experiment.Config, error) {
	cfg := experiment.DefaultConfig()
	src := Source{Env: env, Sets: sets, Flags: flags}
	if nameOrFile == "" {
		nameOrFile = DefaultExperiment
	}
	if st, err := os.Stat(nameOrFile); err == nil && !st.IsDir() {
		src.File = nameOrFile
	} else {
		b, err := Experiment(nameOrFile)
		if err != nil {
			return cfg, err
		}
		src.YAML, src.Name = b, "experiment "+nameOrFile
	}
	origins, err := LoadOrigins(&cfg, src)
	if err != nil {
		return cfg, err
	}
	ResolvePaths(&cfg.Task, &cfg.Reward, src.File)
	return finish(cfg, src, origins)
}

// finish names a file's run after the file when it has no name:, validates,
// and refuses every given setting the selection does not read.
func finish(cfg experiment.Config, src Source, origins Origins) (experiment.Config, error) {
	given := make([]string, 0, len(origins))
	for k := range origins {
		given = append(given, k)
	}
	sort.Strings(given)
	if src.File != "" && !slices.Contains(given, "name") {
		cfg.Name = strings.TrimSuffix(filepath.Base(src.File), filepath.Ext(src.File))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, WithOrigin(err, origins)
	}
	if err := checkGiven(cfg, given, origins); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// ErrUnknownExperiment is wrapped by LoadTrain's error for a name that is
// neither a file nor a bundled experiment.
var ErrUnknownExperiment = errors.New("unknown experiment")

// keyPath finds dotted setting names in an error message.
var keyPath = regexp.MustCompile(`\b[a-z_0-9]+(?:\.[a-z_0-9]+)+\b`)

// sectionKey finds "section: key = value" in a validation error of a
// section's own Validate ("optim: lr = NaN, ...").
var sectionKey = regexp.MustCompile(`\b([a-z_0-9.]+): (?:[a-z]+: )*([a-z_0-9]+) = `)

// WithOrigin appends where the first setting a validation error names got
// its value: the file and line, the environment variable, the --set pair or
// the flag ("(default)" when it was never set).
func WithOrigin(err error, origins Origins) error {
	msg := err.Error()
	keys := keyPath.FindAllString(msg, -1)
	for _, m := range sectionKey.FindAllStringSubmatch(msg, -1) {
		keys = append(keys, m[1]+"."+m[2])
	}
	if strings.Contains(msg, "unknown task") {
		keys = append(keys, "task.name")
	}
	for _, k := range keys {
		if o, ok := origins[k]; ok {
			return fmt.Errorf("%w (%s from %s)", err, k, o)
		}
	}
	for _, k := range keys {
		if strings.Count(k, ".") >= 1 && !strings.HasSuffix(k, ".") {
			if _, known := trainerKeys()[k]; known {
				return fmt.Errorf("%w (%s: the default)", err, k)
			}
		}
	}
	return err
}

// trainerKeys lists the run config's keys.
func trainerKeys() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	typeIndex("", reflect.TypeOf(experiment.Config{}), out)
	return out
}

// Sweeps lists the bundled sweeps.
func Sweeps() []string {
	ents, _ := fs.ReadDir(bundled, "sweeps")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// SweepYAML returns a bundled sweep's YAML, or reads a sweep file.
func SweepYAML(nameOrFile string) ([]byte, string, error) {
	if st, err := os.Stat(nameOrFile); err == nil && !st.IsDir() {
		b, err := readConfigFile(nameOrFile)
		return b, nameOrFile, err
	}
	b, err := bundled.ReadFile("sweeps/" + nameOrFile + ".yaml")
	if err != nil {
		return nil, "", fmt.Errorf("configs: unknown sweep %q (a file, or one of: %s)", nameOrFile, strings.Join(Sweeps(), ", "))
	}
	return b, "sweep " + nameOrFile, nil
}

// WriteResolved writes cfg, as YAML with its setting names, to
// dir/config.yaml (atomically): what a run directory records of its settings
// and what --resume reads back.
func WriteResolved(dir string, cfg experiment.Config) error {
	b, err := DumpActive(cfg)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "config.yaml"), b)
}
