package plots

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRun(t *testing.T, dir, config string, reward float64) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o644)
	m := ""
	for s := 1; s <= 3; s++ {
		m += `{"step": ` + string(rune('0'+s)) + `, "data": {"critic/score/mean": 0.5, "actor/entropy": 0.4}}` + "\n"
	}
	os.WriteFile(filepath.Join(dir, MetricsFile), []byte(m), 0o644)
	return dir
}

// TestRunIdentity: runs share a band only when their resolved configs
// differ in nothing but the seed; other runs are their own series,
// labelled by the settings that set them apart.
func TestRunIdentity(t *testing.T) {
	root := t.TempDir()
	cfg := func(lr, seed string) string {
		return "name: grpo_addition\nseed: " + seed + "\nout: x\noptim:\n  lr: " + lr + "\n  eps: 1e-08\ntask:\n  name: addition\n"
	}
	var runs []*Run
	for _, d := range []struct{ dir, lr, seed string }{
		{"lr1e-3", "0.001", "1"}, {"lr1e-4", "0.0001", "1"}, {"lr1e-4-s2", "0.0001", "2"},
	} {
		r, err := ReadRun(writeRun(t, filepath.Join(root, d.dir), cfg(d.lr, d.seed), 0.5))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	groups := GroupRuns(runs)
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2 (lr 1e-3 alone; lr 1e-4 with seeds 1 and 2)", len(groups))
	}
	if got := groups[0].Label(); got != "grpo_addition optim.lr=0.001 seed=1" {
		t.Errorf("label %q", got)
	}
	if got := groups[1].Label(); got != "grpo_addition optim.lr=0.0001 (2 seeds)" {
		t.Errorf("label %q", got)
	}
	lines := SeriesLines(runs)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "series: ") || !strings.Contains(lines[0], "lr1e-3") ||
		!strings.Contains(lines[1], "optim.lr=0.0001") || !strings.Contains(lines[1], "lr1e-4-s2 (seed 2)") {
		t.Errorf("series lines:\n%s", strings.Join(lines, "\n"))
	}
	rows := Summarize(runs)
	if rows[0].Group == rows[1].Group || rows[1].Group != rows[2].Group || !strings.Contains(rows[0].Label, "optim.lr=0.001") {
		t.Errorf("summary rows %+v", rows)
	}
	// the log cadence changes what is printed, not what a step computes
	relog, _ := ReadRun(writeRun(t, filepath.Join(root, "relog"), cfg("0.001", "2")+"log:\n  every: 5\n", 0.5))
	if g := GroupRuns([]*Run{runs[0], relog}); len(g) != 1 {
		t.Errorf("log.every split a config into %d series", len(g))
	}
	// a grouping the caller sets (a sweep's variant labels) is kept
	a, b := *runs[0], *runs[1]
	a.Group, b.Group = "variant lr", "variant lr"
	if g := GroupRuns([]*Run{&a, &b}); len(g) != 1 || g[0].Label() != "variant lr (2 seeds)" {
		t.Errorf("explicit group: %d groups, %q", len(g), g[0].Label())
	}
	// different names: the name alone tells them apart
	other, _ := ReadRun(writeRun(t, filepath.Join(root, "cc"), "name: clip_cov_addition\nseed: 1\noptim:\n  lr: 0.001\n", 0.5))
	g := GroupRuns([]*Run{runs[0], other})
	if len(g) != 2 || g[1].Label() != "clip_cov_addition seed=1" {
		t.Errorf("groups %v / %v", g[0].Label(), g[1].Label())
	}
}
