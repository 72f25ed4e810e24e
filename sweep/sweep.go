// Package sweep runs a grid of experiments × seeds × overrides, each cell in
// its own run directory, then writes comparison figures, a summary table
// (Markdown and CSV) and a self-contained report.html.
//
// A sweep expands to a manifest of cells (manifest.json in the sweep
// directory), each with a stable id from its resolved config, and an
// executor runs them: local (in-process, parallel cells at a time), slurm (an
// sbatch job array, one task per cell, plus a dependent report job) or k8s
// (an Indexed Job manifest, written only). Every executor runs a cell the
// same way, through RunCell, which is idempotent: a finished cell is skipped,
// an interrupted one resumes from its last checkpoint, and a cell whose
// stored config differs from the manifest's is refused.
//
// Fed by: a sweep YAML (configs.SweepYAML). Uses configs, runner (each
// cell runs through the lifecycle `entrolab train` uses), trainer and plots.
package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/trainer"
)

// Config is a sweep file.
type Config struct {
	Name        string     `mapstructure:"name"`
	Experiments []string   `mapstructure:"experiments"` // bundled names or YAML files
	Seeds       []uint64   `mapstructure:"seeds"`
	Set         []string   `mapstructure:"set"`       // key=value for every run
	Overrides   [][]string `mapstructure:"overrides"` // grid axis: each entry a list of key=value
	Parallel    int        `mapstructure:"parallel"`  // local executor: cells at a time
	// Workers is the cores each cell's trainer uses (graph replicas and
	// sampler workers). It changes a run's numbers in the last bits (float32
	// gradient sums are split by replica), so the manifest fixes it for the
	// whole sweep. 0: local, max(1, cores/parallel); slurm, slurm.cpus_per_task.
	Workers int    `mapstructure:"workers"`
	Out     string `mapstructure:"out"` // default runs/sweep-<name>
	// Baseline is the series every other is compared with in the report
	// (differences with 95% CIs, probability of improvement): an
	// experiment of the sweep (its first variant) or a series label.
	// Default: the first grpo_* experiment; none when the sweep has none.
	Baseline string      `mapstructure:"baseline"`
	Slurm    SlurmConfig `mapstructure:"slurm"`
	K8s      K8sConfig   `mapstructure:"k8s"`
}

// maxWorkers bounds workers and slurm.cpus_per_task.
const maxWorkers = 256

// safeName is what a sweep or cell name may contain: it becomes a directory.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+=-]*$`)

// Load reads and validates a sweep (bundled name or file) with extra --set
// pairs applied to every run.
func Load(nameOrFile string, extraSets []string) (Config, error) {
	c := Config{Seeds: []uint64{1}, Parallel: 1, Slurm: DefaultSlurmConfig(), K8s: DefaultK8sConfig()}
	b, name, err := configs.SweepYAML(nameOrFile)
	if err != nil {
		return c, err
	}
	if err := configs.Load(&c, configs.Source{YAML: b, Name: name}); err != nil {
		return c, err
	}
	c.Set = append(c.Set, extraSets...)
	switch {
	case c.Name == "":
		return c, fmt.Errorf("sweep: %s: name is empty", name)
	case !safeName.MatchString(c.Name) || strings.Contains(c.Name, ".."):
		return c, fmt.Errorf("sweep: %s: name = %q, want letters, digits and ._+=- (it names the sweep directory)", name, c.Name)
	case len(c.Experiments) == 0:
		return c, fmt.Errorf("sweep: %s: experiments is empty", name)
	case len(c.Seeds) == 0:
		return c, fmt.Errorf("sweep: %s: seeds is empty", name)
	case c.Parallel < 1 || c.Parallel > 64:
		return c, fmt.Errorf("sweep: %s: parallel = %d, want in [1, 64]", name, c.Parallel)
	case c.Workers < 0 || c.Workers > maxWorkers:
		return c, fmt.Errorf("sweep: %s: workers = %d, want in [0, %d] (0: automatic)", name, c.Workers, maxWorkers)
	}
	if err := c.Slurm.validate(); err != nil {
		return c, fmt.Errorf("sweep: %s: %w", name, err)
	}
	if err := c.K8s.validate(); err != nil {
		return c, fmt.Errorf("sweep: %s: %w", name, err)
	}
	if c.Out == "" {
		c.Out = filepath.Join("runs", "sweep-"+c.Name)
	}
	// every cell's config must resolve before any work starts
	if _, err := c.Cells(); err != nil {
		return c, err
	}
	return c, nil
}

// WorkersFor is the cores per cell for an executor ("local", "slurm", "k8s").
func (c Config) WorkersFor(executor string) int {
	if c.Workers > 0 {
		return c.Workers
	}
	switch executor {
	case "slurm":
		return c.Slurm.cpus()
	case "k8s":
		return c.K8s.cpus()
	}
	return max(1, runtime.GOMAXPROCS(0)/c.Parallel)
}

// Cell is one run of the grid, as the manifest records it.
type Cell struct {
	Index      int      `json:"index"`      // position in the manifest: the Slurm array task id, the k8s completion index
	ID         string   `json:"id"`         // ConfigID of the resolved config
	Name       string   `json:"name"`       // the run directory under the sweep directory: <variant>-s<seed>
	Label      string   `json:"label"`      // the series it belongs to: experiment and the settings that set its variant apart
	Experiment string   `json:"experiment"` // bundled name or YAML file, as in the sweep file
	Seed       uint64   `json:"seed"`
	Sets       []string `json:"sets"`  // --set pairs applied to the experiment
	Steps      int      `json:"steps"` // train.steps of the resolved config

	cfg trainer.Config
}

// Cells resolves the grid, experiments × overrides × seeds, in that order.
// A variant (one overrides entry) is labelled by the resolved values of the
// settings in which the overrides differ ("grpo_addition optim.lr=0.0003"),
// never by its position. Two cells with one config or one name are an error.
func (c Config) Cells() ([]Cell, error) {
	ovs := c.Overrides
	if len(ovs) == 0 {
		ovs = [][]string{nil}
	}
	// the sweep sets these per cell; a value given for them would be ignored
	for _, list := range append([][]string{c.Set}, c.Overrides...) {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			switch strings.TrimSpace(k) {
			case "name", "seed", "out":
				return nil, fmt.Errorf("sweep: set/overrides %q: a sweep sets %s itself (cells are named by their variant, seeded by seeds:, and live in the sweep's out:)", kv, strings.TrimSpace(k))
			}
		}
	}
	keys := distinguishingKeys(c.Overrides)
	var out []Cell
	byID := map[string]string{}
	byName := map[string]string{}
	for _, e := range c.Experiments {
		base := strings.TrimSuffix(filepath.Base(e), ".yaml")
		for _, ov := range ovs {
			sets := append(append([]string{}, c.Set...), ov...)
			// the variant's values, read from its resolved config (before the seed is set)
			probe, err := configs.LoadTrain(e, nil, sets)
			if err != nil {
				return nil, fmt.Errorf("sweep: %s %s: %w", e, strings.Join(ov, " "), err)
			}
			label, slug := base, base
			if len(keys) > 0 {
				vals, err := settingValues(probe, keys)
				if err != nil {
					return nil, err
				}
				var kv []string
				for i, k := range keys {
					kv = append(kv, k+"="+vals[i])
				}
				label = base + " " + strings.Join(kv, " ")
				slug = slugify(base + "+" + strings.Join(kv, "+"))
				if len(slug) > 120 { // directory names stop at 255 bytes: keep it readable and distinct
					h := sha256.Sum256([]byte(label))
					slug = strings.TrimRight(slug[:100], "._-+=") + "-" + hex.EncodeToString(h[:4])
				}
			}
			for _, s := range c.Seeds {
				cs := append(append([]string{}, sets...), fmt.Sprintf("seed=%d", s), "name="+slug)
				cfg, err := configs.LoadTrain(e, nil, cs)
				if err != nil {
					return nil, fmt.Errorf("sweep: run %s-s%d: %w", slug, s, err)
				}
				if cfg.Out != "" {
					return nil, fmt.Errorf("sweep: experiment %s sets out: %q, which a sweep cannot honour (its cells live in the sweep's out:); remove it from the experiment file", e, cfg.Out)
				}
				id, err := ConfigID(cfg)
				if err != nil {
					return nil, err
				}
				cell := Cell{Index: len(out), ID: id, Name: fmt.Sprintf("%s-s%d", slug, s), Label: label,
					Experiment: e, Seed: s, Sets: cs, Steps: cfg.Train.Steps, cfg: cfg}
				if other, ok := byID[id]; ok {
					return nil, fmt.Errorf("sweep: cells %s and %s resolve to the same config (id %s): a seed or an override repeats another", other, cell.Name, id)
				}
				if other, ok := byName[cell.Name]; ok {
					return nil, fmt.Errorf("sweep: cells %s (%s) and %s (%s) get one directory name; rename an experiment file", other, byName[other], cell.Name, e)
				}
				byID[id], byName[cell.Name] = cell.Name, e
				out = append(out, cell)
			}
		}
	}
	return out, nil
}

// distinguishingKeys lists, in first-seen order, the keys whose values are
// not the same in every overrides entry (a key missing from an entry counts
// as differing: that entry keeps the experiment's value).
func distinguishingKeys(ovs [][]string) []string {
	if len(ovs) < 2 {
		if len(ovs) == 1 {
			var ks []string
			for _, kv := range ovs[0] {
				k, _, _ := strings.Cut(kv, "=")
				ks = append(ks, strings.TrimSpace(k))
			}
			return ks
		}
		return nil
	}
	var order []string
	vals := map[string][]string{}
	for i, ov := range ovs {
		for _, kv := range ov {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if _, ok := vals[k]; !ok {
				order = append(order, k)
				vals[k] = make([]string, len(ovs))
				for j := range vals[k] {
					vals[k][j] = "\x00unset"
				}
			}
			vals[k][i] = strings.TrimSpace(v)
		}
	}
	var out []string
	for _, k := range order {
		v := vals[k]
		for _, x := range v[1:] {
			if x != v[0] {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

var unsafeRune = regexp.MustCompile(`[^A-Za-z0-9._+=-]+`)

// slugify keeps a name usable as a directory.
func slugify(s string) string {
	s = unsafeRune.ReplaceAllString(s, "_")
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", "_")
	}
	return strings.Trim(s, "_.")
}
