package plots

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	// basic: H_t = 2 − 0.08 t, R_t = −0.5·exp(H_t) + 4, val/accuracy 0.4 at step 20,
	// timing_s/step 0.5. 20 points: the last 10% is steps 19 and 20.
	rBasic := func(t float64) float64 { return -0.5*math.Exp(2-0.08*t) + 4 }
	runs := []*Run{mustRead(t, "basic"), mustRead(t, "empty"), mustRead(t, "messy"), nil}
	runs = append(runs, readSeeds(t)[0])
	tests := []SummaryRow{
		{Label: "grpo_bonus seed=7", Group: "grpo_bonus", Steps: 20, Last: 20,
			FinalReward: (rBasic(19) + rBasic(20)) / 2, FinalEntropy: (0.48 + 0.40) / 2, FinalValAccuracy: 0.4,
			FitA: 0.5, FitB: 4, FitR2: 1, StepsPerSec: 2},
		{Label: "empty", Group: "empty", FinalReward: nan, FinalEntropy: nan, FinalValAccuracy: nan,
			FitA: nan, FitB: nan, FitR2: nan, StepsPerSec: nan},
		// messy: finite rewards 0.1 0.2 0.5 0.6 0.7 (last 10% rounds up to one point: 0.7);
		// finite entropies 1.5 1.2 1.05 1.0 0.9. Joined pairs (1.5,.1) (1.05,.5) (1,.6) (.9,.7).
		{Label: "messy", Group: "messy", Steps: 7, Last: 7, FinalReward: 0.7, FinalEntropy: 0.9, FinalValAccuracy: 0.25,
			FitA: -2, FitB: -2, FitR2: -2 /* checked separately */, StepsPerSec: nan},
		{Label: "grpo_seed1", Group: "grpo", Steps: 3, Last: 3, FinalReward: 1, FinalEntropy: 3, FinalValAccuracy: nan,
			FitA: -2, FitB: -2, FitR2: -2, StepsPerSec: nan},
	}
	rows := Summarize(runs)
	if len(rows) != len(tests) {
		t.Fatalf("Summarize gave %d rows, want %d", len(rows), len(tests))
	}
	for i, want := range tests {
		t.Run(want.Label, func(t *testing.T) {
			got := rows[i]
			if got.Label != want.Label || got.Group != want.Group || got.Steps != want.Steps || got.Last != want.Last {
				t.Errorf("Summarize(%s) = %+v, want %+v", want.Label, got, want)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"FinalReward", got.FinalReward, want.FinalReward},
				{"FinalEntropy", got.FinalEntropy, want.FinalEntropy},
				{"FinalValAccuracy", got.FinalValAccuracy, want.FinalValAccuracy},
				{"FitA", got.FitA, want.FitA},
				{"FitB", got.FitB, want.FitB},
				{"FitR2", got.FitR2, want.FitR2},
				{"StepsPerSec", got.StepsPerSec, want.StepsPerSec},
			} {
				if c.want == -2 { // a fit on real-looking data: must agree with FitEntropyReward
					continue
				}
				if !near(c.got, c.want, 1e-9) {
					t.Errorf("Summarize(%s).%s = %v, want %v", want.Label, c.name, c.got, c.want)
				}
			}
		})
	}
	a, b, r2, _ := FitEntropyReward([]float64{1.5, 1.05, 1.0, 0.9}, []float64{0.1, 0.5, 0.6, 0.7})
	if m := rows[2]; m.FitA != a || m.FitB != b || m.FitR2 != r2 || !(a > 0) {
		t.Errorf("Summarize(messy) fit = %v %v %v, want %v %v %v with a > 0", m.FitA, m.FitB, m.FitR2, a, b, r2)
	}
}

var tableRows = []SummaryRow{
	{Label: "a|b", Group: "g", Steps: 3, Last: 30, FinalReward: 0.123456, FinalEntropy: 1.5, FinalValAccuracy: math.NaN(),
		FitA: 0.1, FitB: 2, FitR2: 0.99, StepsPerSec: math.NaN()},
}

func TestWriteSummaryMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummaryMarkdown(&buf, tableRows); err != nil {
		t.Fatal(err)
	}
	want := "| run | group | steps | last_step | final_reward | final_entropy | final_val_accuracy | fit_a | fit_b | fit_r2 | steps_per_sec |\n" +
		"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" +
		`| a\|b | g | 3 | 30 | 0.1235 | 1.5 | n/a | 0.1 | 2 | 0.99 | n/a |` + "\n"
	if buf.String() != want {
		t.Errorf("WriteSummaryMarkdown =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteSummaryCSV(t *testing.T) {
	rows := Summarize([]*Run{mustRead(t, "basic"), mustRead(t, "empty")})
	var buf bytes.Buffer
	if err := WriteSummaryCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(summaryHeader, ",") {
		t.Fatalf("WriteSummaryCSV: %d records, header %v", len(recs), recs[0])
	}
	// Full precision: the numbers read back exactly.
	if v, _ := strconv.ParseFloat(recs[1][4], 64); v != rows[0].FinalReward {
		t.Errorf("final_reward read back %v, want %v", v, rows[0].FinalReward)
	}
	if recs[2][0] != "empty" || recs[2][4] != "NaN" || recs[2][10] != "NaN" {
		t.Errorf("empty row = %v, want NaN for missing values", recs[2])
	}
}

func TestWriteReportHTML(t *testing.T) {
	dir := t.TempDir()
	runs := []*Run{mustRead(t, "basic")}
	figs, err := WriteAll(filepath.Join(dir, "figs"), runs, "png")
	if err != nil {
		t.Fatal(err)
	}
	svg, err := WriteAll(filepath.Join(dir, "svg"), runs, "svg")
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := WriteAll(filepath.Join(dir, "pdf"), runs, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	figs = append(figs, svg[0], pdf[0])
	path := filepath.Join(dir, "report.html")
	if err := WriteReportHTML(path, Report{Rows: Summarize(runs), Figures: figs}); err != nil {
		t.Fatalf("WriteReportHTML: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if n := strings.Count(html, `<img src="data:image/png;base64,`); n != len(figs)-2 {
		t.Errorf("report has %d PNG data URIs, want %d", n, len(figs)-2)
	}
	if !strings.Contains(html, `<object data="data:application/pdf;base64,`) {
		t.Error("report lacks the PDF figure")
	}
	if !strings.Contains(html, `<img src="data:image/svg+xml;base64,`) {
		t.Error("report lacks the SVG figure")
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(html, "ZgotmplZ") {
		t.Error("report refers to external assets or has a sanitised URL")
	}
	if !strings.Contains(html, `<td class="l">grpo_bonus seed=7</td>`) {
		t.Error("report lacks the summary row")
	}
	// The first embedded figure decodes to the file's bytes.
	m := regexp.MustCompile(`data:image/png;base64,([A-Za-z0-9+/=]+)`).FindStringSubmatch(html)
	first, _ := os.ReadFile(figs[0])
	if dec, err := base64.StdEncoding.DecodeString(m[1]); err != nil || !bytes.Equal(dec, first) {
		t.Errorf("embedded figure differs from %s (%v)", figs[0], err)
	}

	if err := WriteReportHTML(filepath.Join(dir, "bad.html"), Report{Figures: []string{"x.jpg"}}); !errors.Is(err, ErrUnknownName) {
		t.Errorf("WriteReportHTML(x.jpg) err = %v, want ErrUnknownName", err)
	}
	if err := WriteReportHTML(filepath.Join(dir, "missing.html"), Report{Figures: []string{filepath.Join(dir, "nope.png")}}); err == nil {
		t.Error("WriteReportHTML(missing figure) succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.html")); !os.IsNotExist(err) {
		t.Error("a failed WriteReportHTML left a file")
	}
}
