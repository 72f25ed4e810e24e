package provenance

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestAppendRead(t *testing.T) {
	dir := t.TempDir()
	if err := Append(dir, 0); err != nil {
		t.Fatal(err)
	}
	if err := Append(dir, 40); err != nil {
		t.Fatal(err)
	}
	rs, err := Read(dir)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Read = %d records, %v; want 2", len(rs), err)
	}
	if rs[0].FromStep != 0 || rs[1].FromStep != 40 || rs[0].Started.IsZero() || rs[0].Go == "" || rs[0].Source == "" {
		t.Errorf("records %+v", rs)
	}
	c := rs[0].Commit
	if c != Unknown && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(c) {
		t.Errorf("commit %q, want 40 hex digits or %q", c, Unknown)
	}
	// Tests run from the source tree: when git is there, the commit is its HEAD.
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if head := strings.TrimSpace(string(out)); c != head {
			t.Errorf("commit %q, git rev-parse HEAD says %q (source: %s)", c, head, rs[0].Source)
		}
	} else {
		t.Logf("no git here (%v): commit %q", err, c)
	}
	if none, err := Read(t.TempDir()); none != nil || err != nil {
		t.Errorf("Read of a run without the file = %v, %v; want nil, nil", none, err)
	}
	os.WriteFile(filepath.Join(dir, File), []byte("{\"commit\":\"abc\"}\nnot json\n"), 0o644)
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), File+":2") {
		t.Errorf("a bad line: err = %v, want it named with its line", err)
	}
}

func TestShort(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Commit: Unknown}, Unknown},
		{Record{}, Unknown},
		{Record{Commit: "0123456789abcdef0123456789abcdef01234567", Describe: "0123456789ab-dirty"}, "0123456789ab-dirty"},
		{Record{Commit: "0123456789abcdef0123456789abcdef01234567", Modified: &yes}, "0123456789ab (modified)"},
	} {
		if got := tc.r.Short(); got != tc.want {
			t.Errorf("%+v.Short() = %q, want %q", tc.r, got, tc.want)
		}
	}
}
