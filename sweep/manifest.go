package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/trainer"
)

// Files of a sweep directory.
const (
	ManifestFile = "manifest.json" // the cells; also what marks a directory as a sweep's
	CellsDir     = "cells"         // <id>.yaml: each cell's resolved config; <id>.json: its state
)

// Manifest is a sweep directory's list of cells. Array task i (Slurm) and
// completion index i (Kubernetes) run Cells[i].
type Manifest struct {
	Sweep   string `json:"sweep"`
	Workers int    `json:"workers"` // cores per cell, the same for every executor that runs it
	// Workdir is the absolute directory the sweep was planned from: relative
	// paths in the cells' configs (runs/base/… base policies) are relative
	// to it, so batch jobs start there.
	Workdir string `json:"workdir"`
	Cells   []Cell `json:"cells"`
	// Baseline is the sweep file's baseline: (see Config.Baseline).
	Baseline string `json:"baseline,omitempty"`
}

// WriteManifest plans c into its sweep directory c.Out: manifest.json and
// cells/<id>.yaml. workers is the cores per cell (Config.WorkersFor).
//
// A directory that exists, is not empty and has no manifest.json is not a
// sweep's and is refused. Over an existing sweep, a cell whose run directory
// holds a config that differs from the requested one is refused, naming the
// settings, and so is a change of workers once a cell has started; cells
// not yet started may be added or dropped (more seeds, another variant).
func WriteManifest(c Config, workers int) (Manifest, error) {
	cells, err := c.Cells()
	if err != nil {
		return Manifest{}, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{Sweep: c.Name, Workers: workers, Workdir: wd, Cells: cells, Baseline: c.Baseline}
	dir := c.Out
	old, err := ReadManifest(dir)
	switch {
	case err == nil:
		if old.Workers != workers {
			for _, cell := range old.Cells {
				if st := runState(filepath.Join(dir, cell.Name), cell.Steps); st != stateNew {
					return m, fmt.Errorf("sweep: %s: workers = %d, but its cells were started with %d (a run's numbers depend on it); set workers: %d or use another out", dir, workers, old.Workers, old.Workers)
				}
			}
		}
	case errors.Is(err, fs.ErrNotExist):
		if ents, rerr := os.ReadDir(dir); rerr == nil && len(ents) > 0 {
			return m, fmt.Errorf("sweep: %s exists and is not a sweep directory (no %s); not writing into it: choose another out (a sweep made before manifests existed: move it aside, or gather it with entrolab plot)", dir, ManifestFile)
		}
	default:
		return m, err
	}
	for _, cell := range cells {
		if err := checkStored(dir, cell, cell.cfg); err != nil {
			return m, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, CellsDir), 0o755); err != nil {
		return m, err
	}
	for _, cell := range cells {
		b, err := configs.Dump(cell.cfg)
		if err != nil {
			return m, err
		}
		if err := atomicfile.Write(filepath.Join(dir, CellsDir, cell.ID+".yaml"), b); err != nil {
			return m, err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, atomicfile.Write(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("sweep: %s is not a planned sweep (no %s; `entrolab sweep -c FILE` plans one): %w", dir, ManifestFile, err)
	}
	if err != nil {
		return m, fmt.Errorf("sweep: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("sweep: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	for i, c := range m.Cells {
		if c.Index != i || c.ID == "" || !safeName.MatchString(c.Name) || strings.Contains(c.Name, "..") {
			return m, fmt.Errorf("sweep: %s: cell %d (index %d, id %q, name %q) is malformed", filepath.Join(dir, ManifestFile), i, c.Index, c.ID, c.Name)
		}
	}
	if m.Workers < 1 || m.Workers > maxWorkers {
		return m, fmt.Errorf("sweep: %s: workers = %d, want in [1, %d]", filepath.Join(dir, ManifestFile), m.Workers, maxWorkers)
	}
	return m, nil
}

// cellConfig loads a cell's resolved config from cells/<id>.yaml and checks
// that it still has the cell's id.
func cellConfig(dir string, cell Cell) (trainer.Config, error) {
	path := filepath.Join(dir, CellsDir, cell.ID+".yaml")
	cfg, err := configs.LoadResolved(path)
	if err != nil {
		return cfg, fmt.Errorf("sweep: cell %d (%s): %w", cell.Index, cell.Name, err)
	}
	id, err := ConfigID(cfg)
	if err != nil {
		return cfg, err
	}
	if id != cell.ID {
		return cfg, fmt.Errorf("sweep: cell %d (%s): %s has id %s, the manifest says %s: it was edited, or written by another version of entrolab", cell.Index, cell.Name, path, id, cell.ID)
	}
	return cfg, nil
}

// checkStored refuses a cell whose run directory already holds a run of
// another config: the run's files would misstate what produced its data.
func checkStored(dir string, cell Cell, want trainer.Config) error {
	path := filepath.Join(dir, cell.Name, "config.yaml")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	stored, err := configs.LoadResolved(path)
	if err != nil {
		return fmt.Errorf("sweep: cell %s: its stored %s does not load: %w", cell.Name, path, err)
	}
	diff, err := configDiff(stored, want)
	if err != nil {
		return err
	}
	if len(diff) > 0 {
		return fmt.Errorf("sweep: cell %s: %s holds a run of other settings (%s); refusing to reuse it: use another out, or remove that run directory", cell.Name, filepath.Join(dir, cell.Name), strings.Join(diff, "; "))
	}
	return nil
}
