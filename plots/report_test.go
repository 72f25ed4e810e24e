package plots

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/provenance"
	"github.com/entrolab/entrolab/stats"
)

// TestReportHTMLShowsRuns: report.html carries each run's resolved config
// (collapsible, escaped), its commit and date from provenance.jsonl — or
// says they are unknown —, the findings in words with their bold, the
// comparison tables and every figure, with nothing fetched.
func TestReportHTMLShowsRuns(t *testing.T) {
	runs := synthRuns(t, 2, 60)
	// one run recorded its start; one was resumed under other code; the rest predate provenance
	if err := provenance.Append(runs[0].Dir, 0); err != nil {
		t.Fatal(err)
	}
	two := `{"from_step":0,"started":"2026-11-30T10:00:00Z","commit":"aaaaaaaaaaaabbbbbbbbbbbbccccccccccccdddd","source":"build info (vcs.revision)","go":"go1.26"}
{"from_step":40,"started":"2026-11-30T11:00:00Z","commit":"eeeeeeeeeeeeffffffffffff0000000000001111","source":"build info (vcs.revision)","go":"go1.26"}
`
	os.WriteFile(filepath.Join(runs[1].Dir, provenance.File), []byte(two), 0o644)
	// a config value that must be escaped
	cfgPath := filepath.Join(runs[2].Dir, ConfigFile)
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(b, []byte("note: \"<script>alert(1)</script> & co\"\n")...), 0o644)

	dir := t.TempDir()
	figs, err := WriteAll(filepath.Join(dir, "plots"), runs, "png")
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupRuns(runs)
	gs, err := CompareGroups(groups, groups[0].Key, stats.Bootstrap{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Title: "Sweep <test>", Findings: FindingsInWords(gs, "95%"), PassFindings: PassCurveFindings(groups),
		Comparison: gs, Rows: Summarize(runs), Runs: ReportRuns(runs), Figures: figs, Notes: []string{"1 of 7 cells not finished"}}
	path := filepath.Join(dir, "report.html")
	if err := WriteReportHTML(path, rep); err != nil {
		t.Fatal(err)
	}
	hb, _ := os.ReadFile(path)
	html := string(hb)
	if keep := os.Getenv("ENTROLAB_FIGURES"); keep != "" { // to look at
		os.WriteFile(filepath.Join(keep, "report.html"), hb, 0o644)
	}
	head := provenance.Current().Short()
	for _, want := range []string{
		"<title>Sweep &lt;test&gt;</title>",
		"<details><summary>resolved config.yaml</summary><pre>name: grpo_addition",
		"&lt;script&gt;alert(1)&lt;/script&gt; &amp; co",
		"<code>" + head + "</code>",
		"<code>aaaaaaaaaaaa from step 0; eeeeeeeeeeee from step 40</code>",
		"2026-11-30 10:00 UTC; resumed 2026-11-30 11:00 UTC from step 40",
		"unknown (not recorded: the run predates provenance.jsonl)",
		"metrics.jsonl last written",
		"<strong>final entropy (nats/token)</strong>", `<h2 id="runs">Runs</h2>`,
		"cannot be told apart from",
		"<h3>pass@k of the final policy against the base</h3>",
		"1 of 7 cells not finished",
		"Δ vs baseline [95% CI]",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(html, "ZgotmplZ") {
		t.Error("report.html has a script, an external reference or a sanitised URL")
	}
	if n := strings.Count(html, `<img src="data:image/png;base64,`); n != len(figs) {
		t.Errorf("%d embedded figures, want %d", n, len(figs))
	}
}

func TestMarkdownBold(t *testing.T) {
	for in, want := range map[string]string{
		"**a** — b < c":  "<strong>a</strong> — b &lt; c",
		"x ** y":         "x ** y",
		"**<b>** and **": "<strong>&lt;b&gt;</strong> and **",
	} {
		if got := string(markdownBold(in)); got != want {
			t.Errorf("markdownBold(%q) = %q, want %q", in, got, want)
		}
	}
}
