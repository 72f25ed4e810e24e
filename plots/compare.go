package plots

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/entrolab/entrolab/stats"
)

// CollapseFraction defines "steps to collapse": the first step at which a
// run's entropy is at or below this fraction of its first recorded value.
const CollapseFraction = 0.5

// Summary metrics compared across groups of seeds, in report order. Each is
// one number per run; higher is "better" only in the sense that the
// probability of improvement is P(group's run > baseline's run).
const (
	MetricFinalReward   = "final_reward"      // critic/score/mean over the last 10% of steps
	MetricFinalEntropy  = "final_entropy"     // actor/entropy over the last 10% of steps (nats/token)
	MetricValAccuracy   = "val_accuracy"      // last val/accuracy (greedy, held-out)
	MetricPassAt1       = "val_pass_at_1"     // val/pass@1 of the last evaluation recording pass@k (sampled accuracy)
	MetricPassAtK       = "val_pass_at_k"     // val/pass@K of that evaluation, K its largest (eval.final_k)
	MetricEntropyAUC    = "entropy_auc"       // time-average of actor/entropy over the run (trapezoid area / step span)
	MetricStepsCollapse = "steps_to_collapse" // first step with entropy <= CollapseFraction x its first value; the last step when never (censored)
)

// CompareMetrics lists the compared metrics in report order.
var CompareMetrics = []string{MetricFinalReward, MetricFinalEntropy, MetricValAccuracy, MetricPassAt1, MetricPassAtK, MetricEntropyAUC, MetricStepsCollapse}

var metricWords = map[string]string{
	MetricFinalReward:   "final reward",
	MetricFinalEntropy:  "final entropy (nats/token)",
	MetricValAccuracy:   "held-out accuracy",
	MetricPassAt1:       "held-out pass@1 (sampled)",
	MetricPassAtK:       "held-out pass@k (largest k of the last evaluation)",
	MetricEntropyAUC:    "mean entropy over training (nats/token)",
	MetricStepsCollapse: "steps to entropy collapse",
}

// MetricWords is a metric's name in words with its unit.
func MetricWords(m string) string {
	if w, ok := metricWords[m]; ok {
		return w
	}
	return m
}

var passKey = regexp.MustCompile(`^val/pass@(\d+)$`)

// RunMetrics is one run's value of every [CompareMetrics] metric (NaN where
// the run lacks the data).
func RunMetrics(r *Run) map[string]float64 {
	m := map[string]float64{
		MetricFinalReward:   finalMean(r.Get(KeyReward)),
		MetricFinalEntropy:  finalMean(r.Get(KeyEntropy)),
		MetricValAccuracy:   lastFinite(r.Get(KeyValAccuracy)),
		MetricPassAt1:       math.NaN(),
		MetricPassAtK:       math.NaN(),
		MetricEntropyAUC:    timeAverage(r.Get(KeyEntropy)),
		MetricStepsCollapse: stepsToCollapse(r.Get(KeyEntropy)),
	}
	// the last evaluation that recorded a pass@k curve, and its largest k
	// (eval.final_k there; eval.k at the evaluations in between)
	last, bestK := -1, 0
	at := map[int]map[int]float64{} // step -> k -> pass@k
	for _, key := range r.Keys() {
		g := passKey.FindStringSubmatch(key)
		if g == nil {
			continue
		}
		k, _ := strconv.Atoi(g[1])
		st, v := r.Get(key).Finite()
		for i, s := range st {
			if at[s] == nil {
				at[s] = map[int]float64{}
			}
			at[s][k] = v[i]
			last = max(last, s)
		}
	}
	if last >= 0 {
		for k, v := range at[last] {
			if k > bestK {
				bestK, m[MetricPassAtK] = k, v
			}
		}
		if v, ok := at[last][1]; ok {
			m[MetricPassAt1] = v
		}
	}
	return m
}

// timeAverage is the trapezoid area under the finite points divided by the
// steps they span (the single value for one point).
func timeAverage(s *Series) float64 {
	if s == nil {
		return math.NaN()
	}
	st, v := s.Finite()
	switch len(st) {
	case 0:
		return math.NaN()
	case 1:
		return v[0]
	}
	var a float64
	for i := 1; i < len(st); i++ {
		a += 0.5 * (v[i] + v[i-1]) * float64(st[i]-st[i-1])
	}
	return a / float64(st[len(st)-1]-st[0])
}

func stepsToCollapse(s *Series) float64 {
	if s == nil {
		return math.NaN()
	}
	st, v := s.Finite()
	if len(st) == 0 || v[0] <= 0 {
		return math.NaN()
	}
	for i := range st {
		if v[i] <= CollapseFraction*v[0] {
			return float64(st[i])
		}
	}
	return float64(st[len(st)-1])
}

// GroupStats is one group of seeds on every compared metric, and its
// comparison with the baseline group (nil for the baseline itself or when
// there is none).
type GroupStats struct {
	Group    Group
	Seeds    []string
	Summary  map[string]stats.Summary
	Versus   map[string]stats.Comparison // nil for the baseline
	Baseline string                      // the baseline group's label ("" when none)
}

// CompareGroups summarises each group (mean and IQM with bootstrap CIs) and
// compares it with the group whose Key is baseline (differences paired by
// seed when both groups ran the same seeds; probability of improvement). An
// empty or unknown baseline gives summaries alone.
func CompareGroups(groups []Group, baseline string, b stats.Bootstrap) ([]GroupStats, error) {
	samples := make([]map[string]stats.Sample, len(groups))
	base := -1
	for gi, g := range groups {
		if g.Key == baseline && baseline != "" {
			base = gi
		}
		samples[gi] = map[string]stats.Sample{}
		for _, r := range g.Runs {
			seed, err := strconv.ParseUint(r.Seed, 10, 64)
			rm := RunMetrics(r)
			for _, m := range CompareMetrics {
				s := samples[gi][m]
				s.Values = append(s.Values, rm[m])
				if err == nil {
					s.Seeds = append(s.Seeds, seed)
				}
				samples[gi][m] = s
			}
		}
	}
	out := make([]GroupStats, len(groups))
	for gi, g := range groups {
		gs := GroupStats{Group: g, Summary: map[string]stats.Summary{}}
		for _, r := range g.Runs {
			gs.Seeds = append(gs.Seeds, r.Seed)
		}
		if base >= 0 {
			gs.Baseline = groups[base].Label()
		}
		for _, m := range CompareMetrics {
			s := samples[gi][m]
			if len(s.Seeds) != len(s.Values) {
				s.Seeds = nil
			}
			sum, err := b.Summarize(s)
			if err != nil {
				return nil, err
			}
			gs.Summary[m] = sum
			if base >= 0 && gi != base {
				y := samples[base][m]
				if len(y.Seeds) != len(y.Values) {
					y.Seeds = nil
				}
				c, err := b.Compare(s, y)
				if err != nil {
					return nil, err
				}
				if gs.Versus == nil {
					gs.Versus = map[string]stats.Comparison{}
				}
				gs.Versus[m] = c
			}
		}
		out[gi] = gs
	}
	return out, nil
}

// CompareCSVHeader is the header of [WriteComparisonCSV]: group, runs,
// seeds, then per metric <m>_mean, <m>_iqm, <m>_ci_low, <m>_ci_high (the
// mean's interval), <m>_diff, <m>_diff_ci_low, <m>_diff_ci_high and
// <m>_p_improve against the baseline (empty for the baseline itself).
func CompareCSVHeader() []string {
	h := []string{"group", "runs", "seeds", "baseline"}
	for _, m := range CompareMetrics {
		h = append(h, m+"_mean", m+"_iqm", m+"_ci_low", m+"_ci_high", m+"_diff", m+"_diff_ci_low", m+"_diff_ci_high", m+"_p_improve")
	}
	return h
}

// WriteComparisonCSV writes one row per group (numbers in full precision;
// NaN as "NaN"; the difference columns empty for the baseline).
func WriteComparisonCSV(w io.Writer, gs []GroupStats) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CompareCSVHeader()); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, g := range gs {
		row := []string{g.Group.Label(), strconv.Itoa(len(g.Group.Runs)), strings.Join(g.Seeds, " "), g.Baseline}
		for _, m := range CompareMetrics {
			s := g.Summary[m]
			row = append(row, num(s.Mean.Estimate), num(s.IQM.Estimate), num(s.Mean.Low), num(s.Mean.High))
			if c, ok := g.Versus[m]; ok {
				row = append(row, num(c.Diff.Estimate), num(c.Diff.Low), num(c.Diff.High), num(c.PImprove.Estimate))
			} else {
				row = append(row, "", "", "", "")
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteComparisonMarkdown writes a table per metric (mean [95% CI], IQM,
// difference with the baseline [95% CI], P(improve)) and then, in words,
// which groups differ from the baseline (the difference's interval excludes
// zero) and which cannot be told apart from it.
func WriteComparisonMarkdown(w io.Writer, gs []GroupStats, level float64, resamples int) error {
	if level == 0 {
		level = stats.DefaultLevel
	}
	if resamples == 0 {
		resamples = stats.DefaultResamples
	}
	pct := fmt.Sprintf("%g%%", 100*level)
	var b strings.Builder
	baseline := ""
	for _, g := range gs {
		if g.Baseline != "" {
			baseline = g.Baseline
		}
	}
	fmt.Fprintf(&b, "Intervals: %s percentile bootstrap over seeds (%d resamples, seeded). Differences are against **%s**, paired by seed where both ran the same seeds.\n\n", pct, resamples, orDash(baseline))
	for _, m := range CompareMetrics {
		fmt.Fprintf(&b, "### %s\n\n| group | runs | mean [%s CI] | IQM | Δ vs baseline [%s CI] | P(improve) |\n|---|---|---|---|---|---|\n", MetricWords(m), pct, pct)
		for _, g := range gs {
			s := g.Summary[m]
			diff, pi := "—", "—"
			if c, ok := g.Versus[m]; ok {
				diff = fmtCI(c.Diff)
				if c.Paired {
					diff += " (paired)"
				}
				pi = shortNum(c.PImprove.Estimate)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", mdEscape(g.Group.Label()), len(g.Group.Runs), fmtCI(s.Mean), shortNum(s.IQM.Estimate), diff, pi)
		}
		b.WriteString("\n")
	}
	if baseline != "" {
		b.WriteString("### In words\n\n")
		for _, line := range FindingsInWords(gs, pct) {
			b.WriteString("- " + line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FindingsInWords says per metric which groups differ from the baseline
// (CI of the difference excludes 0, with the direction) and which cannot be
// told apart from it.
func FindingsInWords(gs []GroupStats, pct string) []string {
	var lines []string
	for _, m := range CompareMetrics {
		var higher, lower, same, undefined []string
		base := ""
		for _, g := range gs {
			c, ok := g.Versus[m]
			if !ok {
				continue
			}
			base = g.Baseline
			name := g.Group.Label()
			switch {
			case math.IsNaN(c.Diff.Low):
				undefined = append(undefined, name)
			case c.Diff.Low > 0:
				higher = append(higher, fmt.Sprintf("%s (%+.3g)", name, c.Diff.Estimate))
			case c.Diff.High < 0:
				lower = append(lower, fmt.Sprintf("%s (%+.3g)", name, c.Diff.Estimate))
			default:
				same = append(same, name)
			}
		}
		if base == "" {
			continue
		}
		var parts []string
		if len(higher) > 0 {
			parts = append(parts, "higher than "+base+": "+strings.Join(higher, ", "))
		}
		if len(lower) > 0 {
			parts = append(parts, "lower than "+base+": "+strings.Join(lower, ", "))
		}
		if len(same) > 0 {
			parts = append(parts, "cannot be told apart from "+base+" ("+pct+" CI of the difference contains 0): "+strings.Join(same, ", "))
		}
		if len(undefined) > 0 {
			parts = append(parts, "too few seeds for an interval: "+strings.Join(undefined, ", "))
		}
		lines = append(lines, "**"+MetricWords(m)+"** — "+strings.Join(parts, "; ")+".")
	}
	return lines
}

func fmtCI(iv stats.Interval) string {
	if math.IsNaN(iv.Low) {
		return shortNum(iv.Estimate)
	}
	return fmt.Sprintf("%s [%s, %s]", shortNum(iv.Estimate), shortNum(iv.Low), shortNum(iv.High))
}

func orDash(s string) string {
	if s == "" {
		return "(no baseline)"
	}
	return s
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
