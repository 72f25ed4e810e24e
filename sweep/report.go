package sweep

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/plots"
	"github.com/entrolab/entrolab/stats"
)

// Report gathers the finished cells of the sweep in dir into comparison
// figures (dir/plots), summary.md, summary.csv, runs.csv and report.html.
// summary.csv has one row per series (seeds of one variant): mean, IQM and
// 95% bootstrap CI of each summary metric and, against the baseline, the
// difference with its CI (paired by seed) and the probability of
// improvement; runs.csv has one row per run. summary.md says the same in
// tables and words; report.html says it too, with the figures embedded and
// each run's resolved config, commit and date (its provenance.jsonl). Cells not finished are left out and named at the end of
// summary.md; with no finished cell it is an error.
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
	// steps (each figure says so); the scatter figures, the fit and the
	// tables use the measured values (Series.Raw)
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
	rows := plots.Summarize(runs)
	groups := plots.GroupRuns(runs)
	boot := stats.Bootstrap{Seed: 1}
	gs, err := plots.CompareGroups(groups, baselineLabel(m), boot)
	if err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Sweep %s\n\n## Comparison over seeds\n\n", m.Sweep)
	if err := plots.WriteComparisonMarkdown(&md, gs, 0, 0); err != nil {
		return err
	}
	if words := plots.PassCurveFindings(groups); len(words) > 0 {
		md.WriteString("\n### pass@k of the final policy against the base\n\n")
		for _, w := range words {
			md.WriteString("- " + w + "\n")
		}
	}
	md.WriteString("\n## Runs\n\n")
	if err := plots.WriteSummaryMarkdown(&md, rows); err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(&md, "\n%d of %d cells finished; not in this report: %s\n", len(runs), len(m.Cells), strings.Join(missing, ", "))
	}
	var runsCSV, sumCSV strings.Builder
	if err := plots.WriteSummaryCSV(&runsCSV, rows); err != nil {
		return err
	}
	if err := plots.WriteComparisonCSV(&sumCSV, gs); err != nil {
		return err
	}
	for name, s := range map[string]string{"summary.md": md.String(), "summary.csv": sumCSV.String(), "runs.csv": runsCSV.String()} {
		if err := atomicfile.Write(filepath.Join(dir, name), []byte(s)); err != nil {
			return err
		}
	}
	rep := plots.Report{
		Title:        "Sweep " + m.Sweep,
		PassFindings: plots.PassCurveFindings(groups),
		Comparison:   gs,
		Rows:         rows,
		Runs:         plots.ReportRuns(runs),
		Figures:      figs,
	}
	if baselineLabel(m) != "" {
		rep.Findings = plots.FindingsInWords(gs, fmt.Sprintf("%g%%", 100*stats.DefaultLevel))
	}
	if len(missing) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d cells finished; not in this report: %s", len(runs), len(m.Cells), strings.Join(missing, ", ")))
	}
	if err := plots.WriteReportHTML(filepath.Join(dir, "report.html"), rep); err != nil {
		return err
	}
	fmt.Fprintf(log, "sweep: %d of %d cells finished; %d figures, summary.md, summary.csv, runs.csv and report.html in %s\n", len(runs), len(m.Cells), len(figs), dir)
	return nil
}

// labelRun names a run by its cell: the variant's label as its group, and
// "label seed=S" as its own label.
func labelRun(r *plots.Run, cell Cell) {
	r.Group = cell.Label
	r.Label = fmt.Sprintf("%s seed=%d", cell.Label, cell.Seed)
}

// baselineLabel is the series the report compares every other with: the
// manifest's baseline (an experiment's first variant, or a label), else the
// first cell of a grpo_* experiment; "" when there is none.
func baselineLabel(m Manifest) string {
	if m.Baseline != "" {
		for _, c := range m.Cells {
			if c.Experiment == m.Baseline || c.Label == m.Baseline {
				return c.Label
			}
		}
		return m.Baseline
	}
	for _, c := range m.Cells {
		base := strings.TrimSuffix(filepath.Base(c.Experiment), filepath.Ext(c.Experiment))
		if base == "grpo" || strings.HasPrefix(base, "grpo_") {
			return c.Label
		}
	}
	return ""
}
