package plots

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entrolab/entrolab/provenance"
	"github.com/entrolab/entrolab/stats"
)

// Report is what report.html shows: the findings in words, the comparison
// over seeds, the figures, and for every run its resolved config, the
// commit and the date that produced it.
type Report struct {
	Title        string
	Findings     []string     // FindingsInWords (Markdown **bold** is kept)
	PassFindings []string     // PassCurveFindings
	Comparison   []GroupStats // CompareGroups; nil: no comparison section
	Level        float64      // of the comparison's intervals (0: 95%)
	Resamples    int          // of the bootstrap (0: stats.DefaultResamples)
	Rows         []SummaryRow // one per run
	Runs         []ReportRun  // ReportRuns
	Figures      []string     // figure files, embedded as data URIs
	Notes        []string     // e.g. the cells not finished yet
}

// ReportRun is one run's identity as the report shows it.
type ReportRun struct {
	Label      string
	Dir        string
	Config     string              // the resolved config.yaml as written ("" when the run has none)
	Provenance []provenance.Record // one per process that ran it; nil for runs made before provenance.jsonl
	Problem    string              // why the config or provenance could not be read, if so
	Metrics    time.Time           // metrics.jsonl's modification time (zero when unknown)
}

// ReportRuns reads each run's config.yaml and provenance.jsonl (runs
// without a directory get their label alone).
func ReportRuns(runs []*Run) []ReportRun {
	var out []ReportRun
	for _, r := range runs {
		if r == nil {
			continue
		}
		rr := ReportRun{Label: r.Label, Dir: r.Dir}
		if r.Dir != "" {
			var probs []string
			if b, err := os.ReadFile(filepath.Join(r.Dir, ConfigFile)); err == nil {
				rr.Config = string(b)
			} else if !os.IsNotExist(err) {
				probs = append(probs, err.Error())
			}
			p, err := provenance.Read(r.Dir)
			if err != nil {
				probs = append(probs, err.Error())
			}
			rr.Provenance = p
			if st, err := os.Stat(filepath.Join(r.Dir, MetricsFile)); err == nil {
				rr.Metrics = st.ModTime().UTC()
			}
			rr.Problem = strings.Join(probs, "; ")
		}
		out = append(out, rr)
	}
	return out
}

// Commit is the run's commit in words: one commit, or each with the step a
// process started from when a resume ran other code; "unknown" when not
// recorded.
func (rr ReportRun) Commit() string {
	if len(rr.Provenance) == 0 {
		return provenance.Unknown + " (not recorded: the run predates " + provenance.File + ")"
	}
	first := rr.Provenance[0].Short()
	same := true
	for _, p := range rr.Provenance[1:] {
		same = same && p.Short() == first
	}
	if same {
		return first
	}
	var parts []string
	for _, p := range rr.Provenance {
		parts = append(parts, fmt.Sprintf("%s from step %d", p.Short(), p.FromStep))
	}
	return strings.Join(parts, "; ")
}

// Date is when the run was started (and resumed), UTC; without provenance
// the time metrics.jsonl was last written, said as such.
func (rr ReportRun) Date() string {
	if len(rr.Provenance) == 0 {
		if rr.Metrics.IsZero() {
			return provenance.Unknown
		}
		return "not recorded; metrics.jsonl last written " + rr.Metrics.Format("2006-01-02 15:04 UTC")
	}
	var parts []string
	for i, p := range rr.Provenance {
		s := p.Started.UTC().Format("2006-01-02 15:04 UTC")
		if i > 0 {
			s = fmt.Sprintf("resumed %s from step %d", s, p.FromStep)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// Sources says how each distinct commit was found.
func (rr ReportRun) Sources() string {
	var out []string
	for _, p := range rr.Provenance {
		if !contains(out, p.Source) {
			out = append(out, p.Source)
		}
	}
	return strings.Join(out, "; ")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// markdownBold escapes s for HTML and turns **x** into <strong>x</strong>.
func markdownBold(s string) template.HTML {
	parts := strings.Split(s, "**")
	var b strings.Builder
	for i, p := range parts {
		open := i%2 == 1 && i < len(parts)-1
		if open {
			b.WriteString("<strong>")
		} else if i%2 == 1 { // an unpaired ** stays as written
			b.WriteString("**")
		}
		b.WriteString(template.HTMLEscapeString(p))
		if open {
			b.WriteString("</strong>")
		}
	}
	return template.HTML(b.String())
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{"md": markdownBold}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 72em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.l, th.l { text-align: left; }
figure { margin: 2em 0; }
img, object { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
details summary { cursor: pointer; }
.note { color: #555; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="note">{{if .Findings}}<a href="#findings">findings</a> · {{end}}{{if .Tables}}<a href="#comparison">comparison</a> · {{end}}<a href="#figures">figures</a> · <a href="#runs">runs: config, commit, date</a> · <a href="#per-run">per run</a></p>
<p class="note">Made {{.Made}} by entrolab {{.Code}}. Self-contained: every figure is embedded; nothing is fetched.</p>
{{with .Notes}}<ul class="note">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Findings}}<h2 id="findings">Findings</h2>
<ul>{{range .Findings}}<li>{{md .}}</li>{{end}}</ul>{{end}}
{{if .PassFindings}}<h3>pass@k of the final policy against the base</h3>
<ul>{{range .PassFindings}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Tables}}<h2 id="comparison">Comparison over seeds</h2>
<p class="note">Intervals: {{.Pct}} percentile bootstrap over seeds ({{.Resamples}} resamples, seeded). Differences are against <strong>{{.Baseline}}</strong>, paired by seed where both ran the same seeds.</p>
{{range .Tables}}<h3>{{.Metric}}</h3>
<table>
<tr><th>series</th><th>runs</th><th>mean [{{$.Pct}} CI]</th><th>IQM</th><th>Δ vs baseline [{{$.Pct}} CI]</th><th>P(improve)</th></tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if eq $i 0}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{end}}
<h2 id="figures">Figures</h2>
{{range .Figures}}<figure>
<figcaption><h3>{{.Name}}</h3></figcaption>
{{if .Image}}<img {{.Src}} alt="{{.Name}}">{{else}}<object {{.Src}} width="100%" height="600">{{.Name}}</object>{{end}}
</figure>
{{end}}
<h2 id="runs">Runs</h2>
<p class="note">Each run's commit and start date (from its provenance.jsonl) and its resolved config.yaml.</p>
<table>
<tr><th>run</th><th class="l">commit</th><th class="l">date</th><th class="l">config</th></tr>
{{range .Runs}}<tr><td>{{.Label}}{{if .Dir}}<br><code>{{.Dir}}</code>{{end}}</td><td class="l"><code>{{.Commit}}</code>{{with .Sources}}<br><small>{{.}}</small>{{end}}</td><td class="l">{{.Date}}</td>
<td class="l">{{if .Config}}<details><summary>resolved config.yaml</summary><pre>{{.Config}}</pre></details>{{else}}none{{end}}{{with .Problem}}<br><small>{{.}}</small>{{end}}</td></tr>
{{end}}</table>
<h2 id="per-run">Per run</h2>
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if lt $i 2}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
<p class="note">final_reward and final_entropy: mean over the last 10% of finite points (the last value for short runs);
fit: critic/score/mean = −a·exp(actor/entropy) + b (Cui et al. 2025); steps_per_sec = 1 / mean(timing_s/step).</p>
</body>
</html>
`))

type reportFigure struct {
	Name  string
	Src   template.HTMLAttr // src="data:…" or data="data:…" type="…", built here (base64 needs no escaping)
	Image bool
}

type reportTable struct {
	Metric string
	Rows   [][]string
}

// WriteReportHTML writes rep as one self-contained HTML page to path
// (atomically): findings, comparison tables, every figure embedded as a
// base64 data URI (PNG and SVG as images, PDF as an object), and each run's
// commit, date and collapsible resolved config. Every text is escaped; no
// asset is fetched. A figure that cannot be read, or has an extension other
// than .png, .svg or .pdf, is an error and nothing is written.
func WriteReportHTML(path string, rep Report) error {
	title := rep.Title
	if title == "" {
		title = "entrolab report"
	}
	code := provenance.Current()
	pct := fmt.Sprintf("%g%%", 100*orDefault(rep.Level, stats.DefaultLevel))
	data := struct {
		Report
		Title, Made, Code, Pct, Baseline string
		Resamples                        int
		Header                           []string
		Rows                             [][]string
		Tables                           []reportTable
		Figures                          []reportFigure
	}{Report: rep, Title: title, Made: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Code: code.Short(), Pct: pct,
		Resamples: int(orDefault(float64(rep.Resamples), stats.DefaultResamples)), Header: summaryHeader}
	for _, r := range rep.Rows {
		data.Rows = append(data.Rows, r.cells(shortNum))
	}
	for _, g := range rep.Comparison {
		if g.Baseline != "" {
			data.Baseline = g.Baseline
		}
	}
	if len(rep.Comparison) > 0 {
		for _, m := range CompareMetrics {
			t := reportTable{Metric: MetricWords(m)}
			for _, g := range rep.Comparison {
				s := g.Summary[m]
				diff, pi := "—", "—"
				if c, ok := g.Versus[m]; ok {
					diff = fmtCI(c.Diff)
					if c.Paired {
						diff += " (paired)"
					}
					pi = shortNum(c.PImprove.Estimate)
				}
				t.Rows = append(t.Rows, []string{g.Group.Label(), fmt.Sprint(len(g.Group.Runs)), fmtCI(s.Mean), shortNum(s.IQM.Estimate), diff, pi})
			}
			data.Tables = append(data.Tables, t)
		}
	}
	for _, fp := range rep.Figures {
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(fp), "."))
		var mime string
		switch ext {
		case "png":
			mime = "image/png"
		case "svg":
			mime = "image/svg+xml"
		case "pdf":
			mime = "application/pdf"
		default:
			return fmt.Errorf("plots: report: figure %s: %w format %q (known: %s)", fp, ErrUnknownName, ext, strings.Join(knownFormats, ", "))
		}
		b, err := os.ReadFile(fp)
		if err != nil {
			return fmt.Errorf("plots: report: %w", err)
		}
		uri := "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b)
		src := `src="` + uri + `"`
		if ext == "pdf" {
			src = `data="` + uri + `" type="` + mime + `"`
		}
		data.Figures = append(data.Figures, reportFigure{
			Name:  strings.TrimSuffix(filepath.Base(fp), filepath.Ext(fp)),
			Src:   template.HTMLAttr(src),
			Image: ext != "pdf",
		})
	}
	var buf bytes.Buffer
	if err := reportTmpl.Execute(&buf, data); err != nil {
		return fmt.Errorf("plots: report: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("plots: report: %w", err)
		}
	}
	return writeFileAtomic(path, buf.Bytes())
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
