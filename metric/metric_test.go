package metric

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want string
		ok   bool
	}{
		{Entropy, Entropy, true},
		{"val/pass@8", ValPassAt, true},
		{"timing_s/gen", Timing, true},
		{"critic/score/mean", Score, true},
		{"critic/score", "", false}, // a prefix entry needs a suffix
		{"actor/nope", "", false},
	} {
		d, ok := Lookup(tc.key)
		if ok != tc.ok || d.Key != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.key, d.Key, ok, tc.want, tc.ok)
		}
	}
	if got := Label(Entropy); got != "actor/entropy (nats)" {
		t.Errorf("Label(actor/entropy) = %q", got)
	}
}

func TestTableHasNoDuplicates(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Table {
		if seen[d.Key] {
			t.Errorf("key %s listed twice", d.Key)
		}
		seen[d.Key] = true
		if d.Unit == "" || d.Meaning == "" {
			t.Errorf("key %s lacks a unit or meaning", d.Key)
		}
	}
}

// TestREADMEMetrics checks that every metric key the README's Metrics
// section names is in the table, so the list cannot drift from the code.
func TestREADMEMetrics(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skip("no README.md next to the module")
	}
	_, sec, ok := strings.Cut(string(b), "\n## Metrics\n")
	if !ok {
		t.Fatal("README has no ## Metrics section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	sec, _, _ = strings.Cut(sec, tableBegin) // the prose, not the generated table
	n := 0
	for _, m := range regexp.MustCompile("`([a-z_]+/[^` ]+|frac_reward_zero_std)`").FindAllStringSubmatch(sec, -1) {
		key := m[1]
		if strings.HasSuffix(key, ".go") {
			continue // a file name
		}
		// critic/score/mean|max|min names three keys; controller/* a prefix
		head, alts, _ := strings.Cut(key, "|")
		keys := []string{head}
		if alts != "" {
			base := head[:strings.LastIndex(head, "/")+1]
			for _, a := range strings.Split(alts, "|") {
				keys = append(keys, base+a)
			}
		}
		for _, k := range keys {
			k = strings.TrimSuffix(k, "*")
			k = strings.ReplaceAll(k, "@k", "@8")
			if strings.HasSuffix(k, "/") {
				k += "x"
			}
			n++
			if _, ok := Lookup(k); !ok {
				t.Errorf("README names %s, which the metric table lacks", k)
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d metric keys in the README's Metrics section", n)
	}
}

var update = flag.Bool("update", false, "rewrite the README's generated metric table")

const (
	tableBegin = "<!-- metric table: generated from metric.Table by `go test ./metric -update` -->"
	tableEnd   = "<!-- end of metric table -->"
)

// Markdown renders the table as the README shows it.
func markdown() string {
	var b strings.Builder
	b.WriteString("| key | unit | meaning |\n|---|---|---|\n")
	for _, d := range Table {
		k := d.Key
		if d.Prefix {
			k += "*"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, d.Unit, strings.ReplaceAll(d.Meaning, "|", "\\|"))
	}
	return b.String()
}

// TestREADMETable checks that the README's metric table is the one
// generated from Table (rewrite it with -update).
func TestREADMETable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skip("no README.md next to the module")
	}
	s := string(b)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README lacks the generated metric table markers %q … %q", tableBegin, tableEnd)
	}
	want := tableBegin + "\n" + markdown() + tableEnd
	if s[i:j+len(tableEnd)] == want {
		return
	}
	if *update {
		if err := os.WriteFile("../README.md", []byte(s[:i]+want+s[j+len(tableEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README's metric table is stale; run go test ./metric -update")
}
