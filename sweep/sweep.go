// Package sweep runs a grid of experiments × seeds × overrides, each in its
// own run directory, then writes comparison figures, a summary table
// (Markdown and CSV) and a self-contained report.html. An interrupted sweep
// resumes: finished runs are skipped, unfinished ones continue from their
// last checkpoint.
//
// Fed by: a sweep YAML (configs.SweepYAML). Uses configs, trainer and plots.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/plots"
	"github.com/entrolab/entrolab/trainer"
)

// Config is a sweep file.
type Config struct {
	Name        string     `mapstructure:"name"`
	Experiments []string   `mapstructure:"experiments"` // bundled names or YAML files
	Seeds       []uint64   `mapstructure:"seeds"`
	Set         []string   `mapstructure:"set"`       // key=value for every run
	Overrides   [][]string `mapstructure:"overrides"` // grid axis: each entry a list of key=value
	Parallel    int        `mapstructure:"parallel"`  // runs at a time (each gets cores/parallel workers)
	Out         string     `mapstructure:"out"`       // default runs/sweep-<name>
}

// Load reads and validates a sweep (bundled name or file) with extra --set
// pairs applied to every run.
func Load(nameOrFile string, extraSets []string) (Config, error) {
	c := Config{Seeds: []uint64{1}, Parallel: 1}
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
	case len(c.Experiments) == 0:
		return c, fmt.Errorf("sweep: %s: experiments is empty", name)
	case len(c.Seeds) == 0:
		return c, fmt.Errorf("sweep: %s: seeds is empty", name)
	case c.Parallel < 1 || c.Parallel > 64:
		return c, fmt.Errorf("sweep: %s: parallel = %d, want in [1, 64]", name, c.Parallel)
	}
	if c.Out == "" {
		c.Out = filepath.Join("runs", "sweep-"+c.Name)
	}
	// every run's config must resolve before any work starts
	for _, r := range c.Runs() {
		if _, err := r.Resolve(); err != nil {
			return c, fmt.Errorf("sweep: run %s: %w", r.Name, err)
		}
	}
	return c, nil
}

// Run is one cell of the grid.
type Run struct {
	Name       string
	Experiment string
	Seed       uint64
	Sets       []string
}

// Runs lists the grid: experiments × overrides × seeds.
func (c Config) Runs() []Run {
	ovs := c.Overrides
	if len(ovs) == 0 {
		ovs = [][]string{nil}
	}
	var out []Run
	for _, e := range c.Experiments {
		base := strings.TrimSuffix(filepath.Base(e), ".yaml")
		for oi, ov := range ovs {
			label := base
			if len(c.Overrides) > 0 {
				label = fmt.Sprintf("%s-v%d", base, oi+1)
			}
			for _, s := range c.Seeds {
				sets := append(append(append([]string{}, c.Set...), ov...), fmt.Sprintf("seed=%d", s), "name="+label)
				out = append(out, Run{Name: fmt.Sprintf("%s-s%d", label, s), Experiment: e, Seed: s, Sets: sets})
			}
		}
	}
	return out
}

// Resolve builds the run's trainer config.
func (r Run) Resolve() (trainer.Config, error) {
	return configs.LoadTrain(r.Experiment, nil, r.Sets)
}

// state says whether a run directory is finished, started or new.
func state(dir string, steps int) string {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest"))
	if err != nil {
		return "new"
	}
	if strings.TrimSpace(string(b)) == fmt.Sprintf("step_%06d", steps) {
		return "done"
	}
	return "started"
}

// Execute runs the sweep, then writes its figures and tables into c.Out.
// log receives one line per run start and end.
func Execute(ctx context.Context, c Config, log io.Writer) error {
	runs := c.Runs()
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	// bases first, one at a time (runs of one task share them)
	for _, r := range runs {
		cfg, err := r.Resolve()
		if err != nil {
			return err
		}
		if _, _, err := trainer.LoadBase(cfg, nil); err != nil {
			return err
		}
	}
	workers := max(1, runtime.GOMAXPROCS(0)/c.Parallel)
	sem := make(chan struct{}, c.Parallel)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for _, r := range runs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(r Run) {
			defer wg.Done()
			defer func() { <-sem }()
			err := runOne(ctx, c.Out, r, workers, log, &mu)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("sweep: run %s: %w", r.Name, err)
				}
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return Report(c, log)
}

func runOne(ctx context.Context, out string, r Run, workers int, log io.Writer, mu *sync.Mutex) error {
	cfg, err := r.Resolve()
	if err != nil {
		return err
	}
	dir := filepath.Join(out, r.Name)
	st := state(dir, cfg.Train.Steps)
	say := func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(log, format+"\n", a...)
		mu.Unlock()
	}
	if st == "done" {
		say("sweep: %s finished already; skipped", r.Name)
		return nil
	}
	tr, err := trainer.Open(cfg, dir, st == "started", st == "new", nil)
	if err != nil {
		return err
	}
	tr.SetWorkers(workers)
	if err := configs.WriteResolved(dir, tr.Cfg); err != nil {
		return err
	}
	tr.Observe(trainer.MetricsWriter{Dir: dir})
	tr.Observe(trainer.Checkpointer{Run: tr})
	start := time.Now()
	say("sweep: %s %s from step %d", r.Name, map[bool]string{true: "resumes", false: "starts"}[tr.Step > 0], tr.Step)
	if err := tr.Trainer.Run(ctx); err != nil {
		if ctx.Err() != nil && tr.Step > 0 {
			tr.Checkpoint() // interrupted between steps: keep the progress
		}
		return err
	}
	say("sweep: %s done in %.1fs", r.Name, time.Since(start).Seconds())
	return nil
}

// Report writes the comparison figures, summary.md, summary.csv and
// report.html of the sweep's runs.
func Report(c Config, log io.Writer) error {
	var runs []*plots.Run
	for _, r := range c.Runs() {
		pr, err := plots.ReadRun(filepath.Join(c.Out, r.Name))
		if err != nil {
			return err
		}
		runs = append(runs, pr)
	}
	// the line figures overlay many noisy runs: smooth them over 5% of the
	// steps; the summary table and the scatter figures use the raw series
	smoothed := make([]*plots.Run, len(runs))
	for i, r := range runs {
		n := 0
		if s := r.Series["actor/entropy"]; s != nil {
			n = len(s.Values) / 20
		}
		smoothed[i] = plots.Smooth(r, n)
	}
	figs, err := plots.WriteAll(filepath.Join(c.Out, "plots"), smoothed, "png")
	if err != nil {
		return err
	}
	// the scatter figures (fit, Pearson r) stay on the raw series, like the table
	for _, name := range []string{"entropy_vs_reward", "entropy_delta"} {
		b, err := plots.RenderFigure(name, runs, "png")
		if errors.Is(err, plots.ErrNoData) {
			continue
		}
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(c.Out, "plots", name+".png"), b); err != nil {
			return err
		}
	}
	rows := plots.Summarize(runs)
	for _, f := range []struct {
		name  string
		write func(io.Writer, []plots.SummaryRow) error
	}{{"summary.md", plots.WriteSummaryMarkdown}, {"summary.csv", plots.WriteSummaryCSV}} {
		var sb strings.Builder
		if err := f.write(&sb, rows); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(c.Out, f.name), []byte(sb.String())); err != nil {
			return err
		}
	}
	if err := plots.WriteReportHTML(filepath.Join(c.Out, "report.html"), rows, figs); err != nil {
		return err
	}
	fmt.Fprintf(log, "sweep: %d runs; %d figures, summary.md, summary.csv and report.html in %s\n", len(runs), len(figs), c.Out)
	return nil
}
