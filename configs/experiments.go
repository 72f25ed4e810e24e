package configs

import (
	"path/filepath"

	"embed"
	"fmt"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/entrolab/entrolab/trainer"
	"gopkg.in/yaml.v3"
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
		return nil, fmt.Errorf("configs: unknown experiment %q (known: %s)", name, strings.Join(Experiments(), ", "))
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

// LoadTrain resolves an experiment: trainer defaults, then either a YAML
// file (when nameOrFile names an existing file) or a bundled experiment,
// then ENTROLAB_* environment variables, then --set pairs; then validates.
func LoadTrain(nameOrFile string, env, sets []string) (trainer.Config, error) {
	cfg := trainer.DefaultConfig()
	src := Source{Env: env, Sets: sets}
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
	if err := Load(&cfg, src); err != nil {
		return cfg, err
	}
	ResolvePaths(&cfg.Task, &cfg.Reward, src.File)
	if err := cfg.Validate(); err != nil {
		return cfg, withLine(err, src)
	}
	return cfg, nil
}

// keyPath finds dotted setting names in an error message.
var keyPath = regexp.MustCompile(`\b[a-z_0-9]+(?:\.[a-z_0-9]+)+\b`)

// withLine appends the YAML line of the first setting a validation error
// names, when the experiment file sets it.
func withLine(err error, src Source) error {
	data, name := src.YAML, src.Name
	if src.File != "" {
		b, rerr := os.ReadFile(src.File)
		if rerr != nil {
			return err
		}
		data, name = b, src.File
	}
	if len(data) == 0 {
		return err
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return err
	}
	msg := err.Error()
	// "trainer: sampling.top_p = 1.5": the prefix before ": " is a package
	for _, k := range keyPath.FindAllString(msg, -1) {
		if l := lineOf(&doc, k); l != "" {
			return fmt.Errorf("%w (%s%s)", err, name, l)
		}
	}
	return err
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
		b, err := os.ReadFile(nameOrFile)
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
func WriteResolved(dir string, cfg trainer.Config) error {
	b, err := Dump(cfg)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "config.yaml"), b)
}
