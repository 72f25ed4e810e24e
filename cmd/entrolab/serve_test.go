package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/serve"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeFlagParsing(t *testing.T) {
	cmd := newTrainCmd()
	if err := cmd.ParseFlags([]string{"--serve"}); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("serve").Value.String(); got != serve.DefaultAddr {
		t.Errorf("train --serve = %q, want %q", got, serve.DefaultAddr)
	}
	cmd = newTrainCmd()
	if err := cmd.ParseFlags([]string{"--serve=127.0.0.1:9999", "grpo_addition"}); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("serve").Value.String(); got != "127.0.0.1:9999" || cmd.Flags().Arg(0) != "grpo_addition" {
		t.Errorf("train --serve=ADDR = %q, arg %q", got, cmd.Flags().Arg(0))
	}
	sc := newServeCmd()
	if err := sc.ParseFlags([]string{"--addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if got := sc.Flags().Lookup("addr").Value.String(); got != "127.0.0.1:0" {
		t.Errorf("serve --addr = %q", got)
	}
}

// runUntil executes the CLI until its output matches re, calls f with the
// match, then cancels the command and returns its output and error.
func runUntil(t *testing.T, re *regexp.Regexp, f func(m []string), args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRoot()
	out := &syncBuffer{}
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(args)
	errc := make(chan error, 1)
	go func() { errc <- root.ExecuteContext(ctx) }()
	deadline := time.After(2 * time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			f(m)
			cancel()
			return out.String(), <-errc
		}
		select {
		case err := <-errc:
			t.Fatalf("%v ended before printing %s: %v\n%s", args, re, err, out)
		case <-deadline:
			t.Fatalf("%v: no %s in time\n%s", args, re, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestServeCommand(t *testing.T) {
	root := t.TempDir()
	out, err := runUntil(t, regexp.MustCompile(`at (http://\S+/) `), func(m []string) {
		if b := getBody(t, m[1]); !strings.Contains(b, "<h1>Runs</h1>") {
			t.Errorf("runs page: %s", b)
		}
	}, "serve", root, "--addr", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("serve: %v\n%s", err, out)
	}
	if _, err := execute(t, "serve", filepath.Join(root, "missing")); err == nil {
		t.Error("serve of a missing root succeeded")
	}
}

func TestTrainServe(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := filepath.Join(t.TempDir(), "runs", "mine-s1")
	out, err := runUntil(t, regexp.MustCompile(`still serving (http://\S+)`), func(m []string) {
		if b := getBody(t, m[1]); !strings.Contains(b, `id="status"`) || !strings.Contains(b, ">done<") {
			t.Errorf("run page after training:\n%s", b)
		}
	}, "train", "--out", dir, "--steps", "2", "--no-plots", "--serve=127.0.0.1:0",
		"--set", "base.checkpoint="+policytest.BaseDir(), "--set", "eval.problems=8", "--set", "train.prompts_per_step=4")
	if err != nil {
		t.Fatalf("train --serve: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`train: watch this run at http://127\.0\.0\.1:\d+/run\?id=mine-s1`).MatchString(out) {
		t.Errorf("no URL printed:\n%s", out)
	}
}
