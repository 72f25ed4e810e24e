package plots

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// FinalFraction is the share of a series' last finite points that a final
// value averages (at least one point, so a short series gives its last value).
const FinalFraction = 0.10

// SummaryRow is one run of a sweep. Missing quantities are NaN.
type SummaryRow struct {
	Label string // the run's series name and seed ("grpo_addition optim.lr=0.001 seed=1")
	Group string // the series it belongs to (Group.Name; Group.Key without a config)
	Steps int    // distinct steps recorded
	Last  int    // last step recorded (0 for an empty run)

	// FinalReward and FinalEntropy average critic/score/mean and
	// actor/entropy over the last FinalFraction (10%) of the series' finite
	// points, rounded up, so a series of fewer than ten points gives its last
	// finite value. FinalValAccuracy is the last finite val/accuracy.
	FinalReward      float64
	FinalEntropy     float64
	FinalValAccuracy float64

	// FitA, FitB and FitR2 are FitEntropyReward over the steps holding both
	// a finite actor/entropy and critic/score/mean (NaN when it fails).
	FitA, FitB, FitR2 float64

	// StepsPerSec is 1 / mean(timing_s/step) over its finite positive values:
	// the steps the run made per second of step time; NaN without timing_s/step.
	StepsPerSec float64
}

// Summarize gives one row per run, in order (nil runs are skipped).
func Summarize(runs []*Run) []SummaryRow {
	var rows []SummaryRow
	groupName := map[*Run]string{}
	named := map[*Run]bool{}
	for _, g := range GroupRuns(runs) {
		name := g.Name
		if name == "" {
			name = g.Key
		}
		for _, r := range g.Runs {
			groupName[r] = name
			named[r] = g.Name != ""
		}
	}
	for _, r := range runs {
		if r == nil {
			continue
		}
		steps := r.Steps()
		label := r.Label
		if g := groupName[r]; named[r] {
			label = g
			if r.Seed != "" {
				label += " seed=" + r.Seed
			}
		}
		row := SummaryRow{
			Label:            label,
			Group:            groupName[r],
			Steps:            len(steps),
			FinalReward:      finalMean(r.Get(KeyReward)),
			FinalEntropy:     finalMean(r.Get(KeyEntropy)),
			FinalValAccuracy: lastFinite(r.Get(KeyValAccuracy)),
			StepsPerSec:      stepsPerSec(r.Get(KeyStepTime)),
		}
		if len(steps) > 0 {
			row.Last = steps[len(steps)-1]
		}
		_, h, rw := Join(r.Get(KeyEntropy), r.Get(KeyReward))
		row.FitA, row.FitB, row.FitR2, _ = FitEntropyReward(h, rw) // NaNs on failure
		rows = append(rows, row)
	}
	return rows
}

func finalMean(s *Series) float64 {
	_, v := s.Finite()
	if len(v) == 0 {
		return math.NaN()
	}
	k := max(int(math.Ceil(FinalFraction*float64(len(v)))), 1)
	sum := 0.0
	for _, x := range v[len(v)-k:] {
		sum += x
	}
	return sum / float64(k)
}

func lastFinite(s *Series) float64 {
	_, v := s.Finite()
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}

func stepsPerSec(s *Series) float64 {
	_, v := s.Finite()
	sum, n := 0.0, 0
	for _, x := range v {
		if x > 0 {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(n) / sum
}

var summaryHeader = []string{"run", "group", "steps", "last_step", "final_reward", "final_entropy",
	"final_val_accuracy", "fit_a", "fit_b", "fit_r2", "steps_per_sec"}

func (r SummaryRow) cells(num func(float64) string) []string {
	return []string{r.Label, r.Group, strconv.Itoa(r.Steps), strconv.Itoa(r.Last),
		num(r.FinalReward), num(r.FinalEntropy), num(r.FinalValAccuracy),
		num(r.FitA), num(r.FitB), num(r.FitR2), num(r.StepsPerSec)}
}

// shortNum formats for people: four significant digits, "n/a" for NaN.
func shortNum(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// WriteSummaryMarkdown writes rows as a GitHub Markdown table (four
// significant digits, n/a for missing values).
func WriteSummaryMarkdown(w io.Writer, rows []SummaryRow) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(summaryHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(summaryHeader)) + "\n")
	for _, r := range rows {
		cells := r.cells(shortNum)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("plots: summary: %w", err)
	}
	return nil
}

// WriteSummaryCSV writes rows as CSV with a header line (column names as in
// summaryHeader), numbers at full precision, NaN for missing values.
func WriteSummaryCSV(w io.Writer, rows []SummaryRow) error {
	cw := csv.NewWriter(w)
	full := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if err := cw.Write(summaryHeader); err != nil {
		return fmt.Errorf("plots: summary: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(r.cells(full)); err != nil {
			return fmt.Errorf("plots: summary: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("plots: summary: %w", err)
	}
	return nil
}

// BaseFinal is where a metric starts and ends in a run: its first finite
// value (for val/* the base's evaluation at step 0; for training metrics the
// first step, measured on the base policy's samples) and its final value
// (the last finite val/* value; for other metrics the mean over the last
// FinalFraction, as Summarize). ok is false when the run never recorded it.
func BaseFinal(r *Run, key string) (base, final float64, ok bool) {
	_, v := r.Get(key).Finite()
	if len(v) == 0 {
		return math.NaN(), math.NaN(), false
	}
	if strings.HasPrefix(key, "val/") {
		return v[0], v[len(v)-1], true
	}
	return v[0], finalMean(r.Get(key)), true
}
