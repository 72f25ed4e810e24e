package sweep

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/plots"
)

// Report gathers the finished cells of the sweep in dir into comparison
// figures (dir/plots), summary.md, summary.csv and report.html. Cells not
// finished are left out and named at the end of summary.md; with no
// finished cell it is an error.
//
// Each run is labelled by its cell: the seeds of one variant share its
// label ("grpo_addition optim.lr=0.0003") as their group, so a figure draws
// them as one band and every other variant as its own series.
func Report(dir string, log io.Writer) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	var runs []*plots.Run
	var missing []string
	for _, cell := range m.Cells {
		if runState(filepath.Join(dir, cell.Name), cell.Steps) != stateDone {
			missing = append(missing, fmt.Sprintf("%s (%s)", cell.Name, cellStatus(dir, cell, nil).State))
			continue
		}
		pr, err := plots.ReadRun(filepath.Join(dir, cell.Name))
		if err != nil {
			return err
		}
		labelRun(pr, cell)
		runs = append(runs, pr)
	}
	if len(runs) == 0 {
		return fmt.Errorf("sweep: %s: no cell has finished yet (%d cells; `entrolab sweep status %s`)", dir, len(m.Cells), dir)
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
	figs, err := plots.WriteAll(filepath.Join(dir, "plots"), smoothed, "png")
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
		if err := atomicfile.Write(filepath.Join(dir, "plots", name+".png"), b); err != nil {
			return err
		}
	}
	rows := plots.Summarize(runs)
	var md strings.Builder
	if err := plots.WriteSummaryMarkdown(&md, rows); err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(&md, "\n%d of %d cells finished; not in this report: %s\n", len(runs), len(m.Cells), strings.Join(missing, ", "))
	}
	var csv strings.Builder
	if err := plots.WriteSummaryCSV(&csv, rows); err != nil {
		return err
	}
	for name, s := range map[string]string{"summary.md": md.String(), "summary.csv": csv.String()} {
		if err := atomicfile.Write(filepath.Join(dir, name), []byte(s)); err != nil {
			return err
		}
	}
	if err := plots.WriteReportHTML(filepath.Join(dir, "report.html"), rows, figs); err != nil {
		return err
	}
	fmt.Fprintf(log, "sweep: %d of %d cells finished; %d figures, summary.md, summary.csv and report.html in %s\n", len(runs), len(m.Cells), len(figs), dir)
	return nil
}

// labelRun names a run by its cell: the variant's label as its group, and
// "label seed=S" as its own label.
func labelRun(r *plots.Run, cell Cell) {
	r.Group = cell.Label
	r.Label = fmt.Sprintf("%s seed=%d", cell.Label, cell.Seed)
}
