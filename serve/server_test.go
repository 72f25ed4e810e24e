package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrolab/entrolab/plots"
)

// writeRun makes a run directory under root: config.yaml with name and
// seed, steps metrics lines and, when samples, two logged completions per
// fifth step with per-token data.
func writeRun(t testing.TB, root, id, name string, seed, steps, total int, samples bool) string {
	t.Helper()
	dir := filepath.Join(root, filepath.FromSlash(id))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("name: %s\nseed: %d\ntask:\n  name: addition\nalgorithm:\n  advantage:\n    name: grpo\n  loss:\n    name: ppo\n  entropy:\n    name: none\ntrain:\n  steps: %d\n", name, seed, total)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for s := 1; s <= steps; s++ {
		fmt.Fprintf(&b, `{"step":%d,"data":{"actor/entropy":%g,"critic/score/mean":%g`, s, 0.6-0.0001*float64(s)+0.001*float64(seed), 0.2+0.0001*float64(s))
		if s%25 == 0 {
			fmt.Fprintf(&b, `,"val/accuracy":%g`, 0.4+0.00001*float64(s))
		}
		b.WriteString("}}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if samples {
		var sb strings.Builder
		for s := 5; s <= steps; s += 5 {
			for i, ok := range []bool{true, false} {
				// tokens "1","2","<eos>"; the second token is the uncertain one
				fmt.Fprintf(&sb, `{"step":%d,"prompt":"1+1=","completion":"12","answer":"2","reward":%d,"advantage":%g,"finish":"eos","correct":%v,"tokens":["1","2","<eos>"],"logp":[-0.1,-1.2,-0.01],"entropy":[0.2,%g,0.01],"token_advantage":[0.5,0.5,0.5]}`+"\n",
					s, map[bool]int{true: 1}[ok], 0.5-float64(i), ok, 1.0+0.1*float64(i))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newTestServer(t *testing.T, root string) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func get(t *testing.T, ts *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunsPageAndAPI(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "grpo_addition-s1", "grpo_addition", 1, 50, 50, false)
	writeRun(t, root, "sweep-x/clip_cov_addition-s1", "clip_cov_addition", 1, 30, 100, false)
	os.MkdirAll(filepath.Join(root, "base", "addition-1234"), 0o755) // not a run
	_, ts := newTestServer(t, root)

	code, body := get(t, ts, "/")
	if code != 200 || !strings.Contains(body, `data-id="grpo_addition-s1"`) || !strings.Contains(body, `data-id="sweep-x/clip_cov_addition-s1"`) {
		t.Fatalf("runs page: %d\n%s", code, body)
	}
	if !strings.Contains(body, "compare sweep sweep-x") {
		t.Errorf("runs page does not offer the sweep comparison")
	}
	_, body = get(t, ts, "/api/runs")
	var runs []runInfo
	if err := json.Unmarshal([]byte(body), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("/api/runs = %d runs, want 2: %s", len(runs), body)
	}
	r := runs[0]
	if r.ID != "grpo_addition-s1" || r.Method != "grpo" || r.Task != "addition" || r.Seed != "1" || r.Step != 50 || r.Steps != 50 || r.Status != StateDone {
		t.Errorf("run row = %+v", r)
	}
	if r.Reward == nil || math.Abs(*r.Reward-0.205) > 1e-9 || r.Accuracy == nil || math.Abs(*r.Accuracy-0.4005) > 1e-9 || r.AccStep != 50 {
		t.Errorf("last values: reward %v accuracy %v at %d", r.Reward, r.Accuracy, r.AccStep)
	}
	if runs[1].Sweep != "sweep-x" || runs[1].Status == StateDone {
		t.Errorf("sweep run row = %+v", runs[1])
	}
	// neither has status.json: the state shown is inferred, and says so
	if !r.Inferred || !strings.Contains(r.StatusWhy, "no status.json") || !strings.Contains(body, `"status_inferred":true`) {
		t.Errorf("a run without status.json: inferred %v (%q)", r.Inferred, r.StatusWhy)
	}
	if _, page := get(t, ts, "/"); !strings.Contains(page, `<span class="inf"`) {
		t.Errorf("runs page does not label the inferred states")
	}
	// with status.json (as train and sweep write it), the file's state, not inferred
	if err := WriteStatus(filepath.Join(root, "sweep-x", "clip_cov_addition-s1"), StateInterrupted, ""); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, ts, "/api/runs")
	runs = nil
	json.Unmarshal([]byte(body), &runs)
	if len(runs) != 2 || runs[1].Status != StateInterrupted || runs[1].Inferred {
		t.Errorf("a run with status.json: %+v", runs)
	}
	if _, page := get(t, ts, "/run?id=sweep-x/clip_cov_addition-s1"); !strings.Contains(page, `id="inferred" title="" hidden>`) {
		t.Errorf("run page labels a recorded state inferred")
	}

	// a new run appears in the next poll
	writeRun(t, root, "new-s2", "new", 2, 3, 10, false)
	_, body = get(t, ts, "/api/runs")
	if !strings.Contains(body, `"id":"new-s2"`) {
		t.Errorf("new run not listed: %s", body)
	}
}

func TestRunPageFiguresAndFiles(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 40, 100, true)
	_, ts := newTestServer(t, root)
	code, body := get(t, ts, "/run?id=a-s1")
	if code != 200 {
		t.Fatalf("run page: %d %s", code, body)
	}
	for _, want := range []string{`data-fig="entropy"`, `src="/fig?id=a-s1&name=entropy&v=`, "name: a", `/file?id=a-s1&path=metrics.jsonl`, "samples?id=a-s1"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	code, svg := get(t, ts, "/fig?id=a-s1&name=entropy")
	if code != 200 || !strings.Contains(svg, "<svg") || !strings.Contains(svg, "entropy (nats / token)") {
		t.Fatalf("entropy figure: %d %.200s", code, svg)
	}
	if code, _ := get(t, ts, "/fig?id=a-s1&name=controllers"); code != 404 {
		t.Errorf("figure without data: %d, want 404", code)
	}
	if code, _ := get(t, ts, "/fig?id=a-s1&name=nope"); code != 400 {
		t.Errorf("unknown figure: %d, want 400", code)
	}
	// the figure changes as metrics.jsonl grows
	_, v1 := get(t, ts, "/api/run?id=a-s1")
	f, _ := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, `{"step":41,"data":{"actor/entropy":0.1,"critic/score/mean":0.9}}`+"\n")
	f.Close()
	_, v2 := get(t, ts, "/api/run?id=a-s1")
	var i1, i2 runInfo
	json.Unmarshal([]byte(v1), &i1)
	json.Unmarshal([]byte(v2), &i2)
	if i1.Version == i2.Version || i2.Step != 41 {
		t.Errorf("after a new line: version %s -> %s, step %d", i1.Version, i2.Version, i2.Step)
	}
	_, svg2 := get(t, ts, "/fig?id=a-s1&name=entropy&v="+url.QueryEscape(i2.Version))
	if svg2 == svg {
		t.Errorf("entropy figure did not change after a new step")
	}
	code, body = get(t, ts, "/file?id=a-s1&path=config.yaml")
	if code != 200 || !strings.Contains(body, "name: a") {
		t.Errorf("file: %d %s", code, body)
	}
}

func TestTornLastLine(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 10, 100, true)
	for _, f := range []string{"metrics.jsonl", "samples.jsonl"} {
		fh, _ := os.OpenFile(filepath.Join(dir, f), os.O_APPEND|os.O_WRONLY, 0)
		fh.WriteString(`{"step":11,"data":{"actor/entr`)
		fh.Close()
	}
	s, ts := newTestServer(t, root)
	info, err := s.summary("a-s1")
	if err != nil || info.Step != 10 {
		t.Fatalf("summary with a torn line: step %d, %v", info.Step, err)
	}
	for _, p := range []string{"/run?id=a-s1", "/fig?id=a-s1&name=entropy", "/samples?id=a-s1"} {
		if code, body := get(t, ts, p); code != 200 {
			t.Errorf("%s with a torn last line: %d %s", p, code, body)
		}
	}
}

func TestPathSafety(t *testing.T) {
	outside := t.TempDir()
	writeRun(t, outside, "secret-s1", "secret", 1, 5, 5, true)
	os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0"), 0o644)
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 5, 5, false)
	if err := os.Symlink(filepath.Join(outside, "secret-s1"), filepath.Join(root, "linked-s1")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(dir, "leak.txt"))
	os.Symlink(outside, filepath.Join(dir, "out"))
	evil := writeRun(t, root, "evil-s1", "evil", 1, 1, 1, false)
	os.Remove(filepath.Join(evil, "metrics.jsonl"))
	os.Symlink(filepath.Join(outside, "secret-s1", "metrics.jsonl"), filepath.Join(evil, "metrics.jsonl"))
	_, ts := newTestServer(t, root)

	_, body := get(t, ts, "/api/runs")
	if strings.Contains(body, "linked-s1") || strings.Contains(body, "secret") {
		t.Errorf("a symlinked run is listed: %s", body)
	}
	for _, p := range []string{
		"/run?id=../" + filepath.Base(outside) + "/secret-s1",
		"/run?id=" + url.QueryEscape(filepath.Join(outside, "secret-s1")),
		"/run?id=linked-s1",
		"/run?id=evil-s1",
		"/run?id=a-s1/../../" + filepath.Base(outside) + "/secret-s1",
		"/fig?id=linked-s1&name=entropy",
		"/fig?id=..&name=entropy",
		"/samples?id=linked-s1",
		"/api/samples?id=linked-s1",
		"/api/samples?id=../" + filepath.Base(outside) + "/secret-s1",
		"/compare?sweep=..",
		"/compare?id=linked-s1",
		"/file?id=a-s1&path=../../" + filepath.Base(outside) + "/passwd",
		"/file?id=a-s1&path=" + url.QueryEscape(filepath.Join(outside, "passwd")),
		"/file?id=a-s1&path=leak.txt",
		"/file?id=a-s1&path=out/passwd",
		"/file?id=a-s1&path=" + url.QueryEscape(`..\..\passwd`),
		"/file?id=linked-s1&path=metrics.jsonl",
	} {
		code, body := get(t, ts, p)
		if code == 200 || strings.Contains(body, "root:x") || strings.Contains(body, "secret") && !strings.Contains(body, "symlink") && !strings.Contains(body, "outside") && !strings.Contains(body, "not") {
			t.Errorf("%s: %d %.200s", p, code, body)
		}
		if code != 400 && code != 404 {
			t.Errorf("%s: status %d, want 400 or 404", p, code)
		}
	}
	// the run page does not list the symlinks as files
	_, body = get(t, ts, "/run?id=a-s1")
	if strings.Contains(body, "leak.txt") || strings.Contains(body, "out/passwd") {
		t.Errorf("run page lists symlinks")
	}
}

func TestReadOnlyAndHost(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "a-s1", "a", 1, 5, 5, false)
	s, ts := newTestServer(t, root)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, ts.URL+"/run?id=a-s1", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("%s: %d, want 405", m, resp.StatusCode)
		}
	}
	h := loopbackOnly(s.Handler())
	for host, want := range map[string]int{"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "evil.example:8080": 403, "10.0.0.1": 403} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
	if !IsLoopback("127.0.0.1:0") || !IsLoopback("localhost:1") || IsLoopback("0.0.0.0:8080") || IsLoopback(":8080") {
		t.Errorf("IsLoopback wrong")
	}
}

func TestDeletedRunDir(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 20, 100, true)
	writeRun(t, root, "b-s1", "b", 1, 20, 100, false)
	_, ts := newTestServer(t, root)
	for _, p := range []string{"/run?id=a-s1", "/fig?id=a-s1&name=entropy", "/samples?id=a-s1", "/api/run?id=a-s1", "/api/samples?id=a-s1"} {
		if code, _ := get(t, ts, p); code != 200 {
			t.Fatalf("%s: %d before deletion", p, code)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/run?id=a-s1", "/fig?id=a-s1&name=entropy", "/samples?id=a-s1", "/api/run?id=a-s1", "/api/samples?id=a-s1", "/file?id=a-s1&path=metrics.jsonl"} {
		if code, body := get(t, ts, p); code != 404 {
			t.Errorf("%s after deletion: %d %s", p, code, body)
		}
	}
	code, body := get(t, ts, "/api/runs")
	if code != 200 || strings.Contains(body, "a-s1") || !strings.Contains(body, "b-s1") {
		t.Errorf("runs after deletion: %d %s", code, body)
	}
	if code, _ := get(t, ts, "/compare?id=a-s1&id=b-s1"); code != 200 {
		t.Errorf("compare with a deleted run: %d", code)
	}
}

func TestComparePage(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "sw/grpo-s1", "grpo", 1, 30, 30, false)
	writeRun(t, root, "sw/grpo-s2", "grpo", 2, 30, 30, false)
	writeRun(t, root, "sw/aent-s1", "aent", 1, 30, 30, false)
	_, ts := newTestServer(t, root)
	code, body := get(t, ts, "/compare?sweep=sw")
	if code != 200 {
		t.Fatalf("compare: %d %s", code, body)
	}
	if !strings.Contains(body, "grpo (2 seeds)") || !strings.Contains(body, ">aent seed=1<") {
		t.Errorf("compare groups wrong:\n%s", body)
	}
	code, svg := get(t, ts, "/fig?sweep=sw&name=entropy")
	if code != 200 || !strings.Contains(svg, "grpo (2 seeds)") {
		t.Errorf("compare figure: %d %.300s", code, svg)
	}
	code, body = get(t, ts, "/compare/table?id=sw/grpo-s1&id=sw/aent-s1")
	if code != 200 || strings.Contains(body, "2 seeds") || !strings.Contains(body, "grpo seed=1") {
		t.Errorf("compare table of picked runs: %d %s", code, body)
	}
	if code, _ := get(t, ts, "/api/versions?sweep=sw"); code != 200 {
		t.Errorf("versions: %d", code)
	}
}

func TestSamplesPage(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "a-s1", "a", 1, 20, 100, true)
	_, ts := newTestServer(t, root)
	code, body := get(t, ts, "/samples?id=a-s1")
	if code != 200 {
		t.Fatalf("samples: %d %s", code, body)
	}
	if n := strings.Count(body, `<div class="comp `); n != 8 {
		t.Errorf("completions shown = %d, want 8", n)
	}
	// the uncertain token gets the top colour and the high-entropy outline
	if !strings.Contains(body, `class="tok h11 high" title="token &#34;2&#34; · p = 0.301 · entropy = 1.100 nats · advantage = &#43;0.500"`) {
		t.Errorf("coloured token missing:\n%s", body)
	}
	if !strings.Contains(body, `class="tok h0"`) {
		t.Errorf("low-entropy token not in the lowest colour")
	}
	_, body = get(t, ts, "/samples?id=a-s1&outcome=wrong&step=10")
	if n := strings.Count(body, `<div class="comp bad">`); n != 1 || strings.Contains(body, `<div class="comp ok">`) {
		t.Errorf("filter wrong, step 10: %d wrong completions shown", n)
	}
	if !strings.Contains(body, "<code>2</code></td><td class=\"num\">4</td>") {
		t.Errorf("high-entropy table: token 2 should be high 4 times among the wrong completions:\n%s", body)
	}

	// the page polls /api/samples: its version changes when samples land,
	// and the page drawn again shows them
	version := func() string {
		t.Helper()
		_, b := get(t, ts, "/api/samples?id=a-s1")
		var v struct{ Version string }
		if err := json.Unmarshal([]byte(b), &v); err != nil || v.Version == "" {
			t.Fatalf("/api/samples = %s (%v)", b, err)
		}
		return v.Version
	}
	v0 := version()
	if _, body = get(t, ts, "/samples?id=a-s1"); !strings.Contains(body, `data-version="`+v0+`"`) || !strings.Contains(body, `<div id="samples-live">`) {
		t.Errorf("samples page does not carry the version %s it polls against", v0)
	}
	f, err := os.OpenFile(filepath.Join(root, "a-s1", samplesFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"step":25,"prompt":"2+2=","completion":"4","answer":"4","reward":1,"advantage":0.5,"finish":"eos","correct":true,"tokens":["4","<eos>"],"logp":[-0.1,-0.01],"entropy":[0.3,0.01]}` + "\n")
	f.Close()
	if v1 := version(); v1 == v0 {
		t.Errorf("/api/samples version unchanged after a sample landed: %s", v1)
	}
	if _, body = get(t, ts, "/samples?id=a-s1"); !strings.Contains(body, "step 25 · correct") || !strings.Contains(body, `<option value="25"`) {
		t.Errorf("the new sample (step 25) is not shown")
	}
	if code, _ := get(t, ts, "/api/samples?id=nope"); code != 404 {
		t.Errorf("/api/samples of a missing run: %d, want 404", code)
	}
}

func TestEntropyStats(t *testing.T) {
	mk := func(step int, toks []string, ents []float64) sampleLine {
		lp := make([]float64, len(toks))
		return sampleLine{Step: step, Tokens: toks, Entropy: ents, Logp: lp}
	}
	lines := []sampleLine{
		// step 1: 10 tokens, the top 20% are the two highest: "a" (0.9) and "b" (0.8)
		mk(1, []string{"a", "b", "c", "c", "c"}, []float64{0.9, 0.8, 0.1, 0.1, 0.2}),
		mk(1, []string{"c", "c", "c", "c", "c"}, []float64{0.1, 0.1, 0.1, 0.3, 0.1}),
		// step 2: 5 tokens, top 20% is one token: "c" (0.7)
		mk(2, []string{"a", "b", "c", "d", "d"}, []float64{0.1, 0.1, 0.7, 0.2, 0.2}),
	}
	overall, ph := entropyStats(lines, 20, 2)
	want := []tokenCount{{"a", 1, 2}, {"b", 1, 2}, {"c", 1, 9}}
	if fmt.Sprint(overall) != fmt.Sprint(want) {
		t.Errorf("overall = %v, want %v", overall, want)
	}
	if len(ph) != 2 || ph[0].From != 1 || ph[1].From != 2 || !math.IsNaN(ph[0].Jaccard) || ph[1].Jaccard != 0 {
		t.Errorf("phases = %+v", ph)
	}
	if thr := highThreshold([]float64{5, 1, 4, 2, 3}, 0.2); thr != 5 {
		t.Errorf("highThreshold = %v, want 5", thr)
	}
	if thr := highThreshold([]float64{5, 1, 4, 2, 3, 0}, 0.2); thr != 4 {
		t.Errorf("highThreshold(6) = %v, want 4 (ceil(1.2) = 2 tokens)", thr)
	}
}

func TestRunState(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	host, _ := os.Hostname()
	for _, c := range []struct {
		name      string
		st        *Status
		last, tot int
		mod       time.Time
		ck        bool
		want      string
		inferred  bool
	}{
		{"status_done", &Status{State: StateDone}, 10, 100, now, false, StateDone, false},
		{"status_running_alive", &Status{State: StateRunning, PID: os.Getpid(), Host: host}, 10, 100, now, false, StateRunning, false},
		{"status_running_dead", &Status{State: StateRunning, PID: 1 << 30, Host: host}, 10, 100, now, false, StateFailed, true},
		{"status_running_other_host", &Status{State: StateRunning, PID: 1 << 30, Host: host + "-elsewhere"}, 10, 100, now, false, StateRunning, false},
		{"status_interrupted", &Status{State: StateInterrupted}, 10, 100, now, true, StateInterrupted, false},
		{"inferred_done", nil, 100, 100, now.Add(-time.Hour), false, StateDone, true},
		{"inferred_running", nil, 10, 100, now.Add(-time.Second), false, StateRunning, true},
		{"inferred_interrupted", nil, 10, 100, now.Add(-time.Hour), true, StateInterrupted, true},
		{"inferred_unknown", nil, 10, 100, now.Add(-time.Hour), false, StateUnknown, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, why, inferred := runState(c.st, c.last, c.tot, c.mod, c.ck, now)
			if got != c.want || inferred != c.inferred {
				t.Errorf("runState = %s inferred %v, want %s %v", got, inferred, c.want, c.inferred)
			}
			if inferred && why == "" {
				t.Errorf("an inferred %s says not from what", got)
			}
		})
	}
	dir := t.TempDir()
	if err := WriteStatus(dir, StateRunning, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, StatusFile))
	var st Status
	if err := json.Unmarshal(b, &st); err != nil || st.State != StateRunning || st.PID != os.Getpid() {
		t.Errorf("status.json = %s (%v)", b, err)
	}
}

func TestThin(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "a-s1", "a", 1, 5000, 5000, false)
	s, _ := newTestServer(t, root)
	r, _, err := s.loadRun("a-s1")
	if err != nil {
		t.Fatal(err)
	}
	th, k := thin(r, 2000)
	if k != 3 || th.Get("actor/entropy").Len() != 5000/3+1 || th.Get("val/accuracy").Len() != 200 {
		t.Errorf("thin: k %d, entropy %d points, val %d", k, th.Get("actor/entropy").Len(), th.Get("val/accuracy").Len())
	}
	if r.Get("actor/entropy").Len() != 5000 {
		t.Errorf("thin changed the cached run")
	}
}

// TestIncrementalLoad checks that a growing metrics file parsed in pieces
// gives what plots.ReadRun gives for the whole file: appended lines, a torn
// line completed later, a step rewritten by a later line, a file replaced.
func TestIncrementalLoad(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "a-s1", "a", 1, 30, 100, false)
	path := filepath.Join(dir, "metrics.jsonl")
	s, _ := newTestServer(t, root)
	appendLine := func(line string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
		time.Sleep(10 * time.Millisecond) // a new modification time
	}
	check := func(what string) {
		t.Helper()
		got, _, err := s.loadRun("a-s1")
		if err != nil {
			t.Fatal(err)
		}
		want, err := plots.ReadRun(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range want.Keys() {
			if unshown[k] {
				continue
			}
			if fmt.Sprint(got.Get(k).Steps, got.Get(k).Values) != fmt.Sprint(want.Get(k).Steps, want.Get(k).Values) {
				t.Errorf("%s: %s = %v, want %v", what, k, got.Get(k).Steps, want.Get(k).Steps)
			}
		}
		if gd, _ := filepath.EvalSymlinks(got.Dir); gd == "" || gd != func() string { wd, _ := filepath.EvalSymlinks(want.Dir); return wd }() {
			t.Errorf("%s: Dir %q, want %q", what, got.Dir, want.Dir)
		}
		if len(got.Keys()) != len(want.Keys()) || got.Label != want.Label || got.Group != want.Group {
			t.Errorf("%s: keys %v label %q group %q, want %v %q %q", what, got.Keys(), got.Label, got.Group, want.Keys(), want.Label, want.Group)
		}
	}
	check("first")
	appendLine(`{"step":31,"data":{"actor/entropy":0.5,"new/key":1}}` + "\n")
	check("appended")
	appendLine(`{"step":32,"data":{"actor/entropy":0.4`)
	if r, _, _ := s.loadRun("a-s1"); r.Get("actor/entropy").Len() != 31 {
		t.Errorf("torn line parsed: %d points", r.Get("actor/entropy").Len())
	}
	appendLine(`}}` + "\n")
	check("torn line completed")
	appendLine(`{"step":10,"data":{"actor/entropy":9}}` + "\n")
	check("step rewritten")
	b, _ := os.ReadFile(path)
	os.WriteFile(path+".tmp", b[:len(b)/2], 0o644)
	os.Rename(path+".tmp", path)
	check("file replaced")
}

// TestFilterKeepsFigures checks that dropping the unshown keys changes
// nothing the pages show: the same series for every other key, the same
// line counts, byte-identical figures, also for messy lines.
func TestFilterKeepsFigures(t *testing.T) {
	var b strings.Builder
	for s := 1; s <= 60; s++ {
		fmt.Fprintf(&b, `{"data":{`)
		for i, k := range benchKeys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q:%v`, k, math.Sin(float64(s*(i+1))))
		}
		fmt.Fprintf(&b, `,"controller/entropy_coef":%v,"val/accuracy":%v},"step":%d}`+"\n", 0.01*float64(s), 0.3+0.001*float64(s), s)
	}
	b.WriteString(`{"step": 61, "data": {"actor/entropy": NaN, "critic/score/mean": "Infinity", "actor/lr": 1e-4, "odd \"key\"": [1, {"x": "}"}], "timing_s/gen": null}}` + "\n")
	b.WriteString(`{"step": 62, "actor/entropy": 0.3, "timing_s/gen": 2}` + "\n")
	b.WriteString(`not json` + "\n" + `{"step": 63, "data": {"actor/entropy": tru}}` + "\n" + `{"step": 64, "data": {"actor/entropy": 0.2, }}` + "\n")
	b.WriteString(`{"step":65,"data":{"actor/entr`)
	orig := []byte(b.String())
	filtered := filterMetrics(nil, orig)
	if len(filtered) >= len(orig)*2/3 {
		t.Errorf("filter kept %d of %d bytes", len(filtered), len(orig))
	}
	ro, _ := plots.ParseMetrics(strings.NewReader(string(orig)))
	rf, _ := plots.ParseMetrics(strings.NewReader(string(filtered)))
	if ro.Lines != rf.Lines || ro.Skipped != rf.Skipped {
		t.Errorf("lines %d/%d skipped %d/%d", rf.Lines, ro.Lines, rf.Skipped, ro.Skipped)
	}
	for _, k := range ro.Keys() {
		if unshown[k] {
			continue // dropped from "data" (kept only as a top-level key of a line without "data")
		}
		if fmt.Sprint(ro.Get(k).Steps, ro.Get(k).Values) != fmt.Sprint(rf.Get(k).Steps, rf.Get(k).Values) {
			t.Errorf("%s: %v, want %v", k, rf.Get(k).Values, ro.Get(k).Values)
		}
	}
	root := t.TempDir()
	dir := filepath.Join(root, "a-s1")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), orig, 0o644)
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("name: a\nseed: 3\n"), 0o644)
	s, _ := newTestServer(t, root)
	got, _, err := s.loadRun("a-s1")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := plots.ReadRun(dir)
	for _, name := range plots.FigureNames() {
		g, gerr := plots.RenderFigure(name, []*plots.Run{got}, "svg")
		w, werr := plots.RenderFigure(name, []*plots.Run{want}, "svg")
		if (gerr == nil) != (werr == nil) || string(g) != string(w) {
			t.Errorf("figure %s differs after filtering (errors %v, %v)", name, gerr, werr)
		}
	}
}

// FuzzFilterMetrics: for any input, the filtered file parses to the same
// lines, skips and shown series as the original.
func FuzzFilterMetrics(f *testing.F) {
	for _, s := range []string{
		`{"step":1,"data":{"actor/entropy":0.5,"actor/lr":1}}`,
		`{"data":{"actor/lr":1,"actor/entropy":0.5},"step":2}`,
		`{"step": 3, "data": {"actor/lr": NaN, "actor/entropy": -Infinity}}`,
		`{"step":4,"data":{"actor/lr":1,}}`,
		`{"step":5,"data":{"actor/lr":{"x":[1,"]"]},"a":"\"}"}}`,
		`{"step":6,"data":{}}` + "\n" + `{"step":7,"data":{"actor/lr":1}`,
		`{"step":8,"data":{"actor/lr":1},"data":{"actor/entropy":2}}`,
		`{"step":9,"data":5}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ro, _ := plots.ParseMetrics(strings.NewReader(in))
		rf, _ := plots.ParseMetrics(strings.NewReader(string(filterMetrics(nil, []byte(in)))))
		if ro.Lines != rf.Lines || ro.Skipped != rf.Skipped || ro.Ignored < rf.Ignored {
			t.Fatalf("lines %d/%d skipped %d/%d ignored %d/%d", rf.Lines, ro.Lines, rf.Skipped, ro.Skipped, rf.Ignored, ro.Ignored)
		}
		for _, k := range ro.Keys() {
			if unshown[k] {
				continue
			}
			if fmt.Sprint(ro.Get(k).Steps, ro.Get(k).Values) != fmt.Sprint(rf.Get(k).Steps, rf.Get(k).Values) {
				t.Fatalf("%s: %v, want %v", k, rf.Get(k), ro.Get(k))
			}
		}
	})
}

// FuzzParseMetricsFast: parseMetrics counts, parses and orders every line
// as plots.ParseMetrics does, for every key a page shows.
func FuzzParseMetricsFast(f *testing.F) {
	for _, s := range []string{
		`{"step":1,"data":{"actor/entropy":0.5,"actor/lr":1}}`,
		`{"data":{"actor/entropy":0.5,"actor/lr":1},"step":2}` + "\n" + `{"step":2,"data":{"actor/entropy":0.7}}`,
		`{"step": 3, "data": {"actor/lr": NaN, "actor/entropy": -Infinity}}`,
		`{"step":4,"data":{"b":1,"a":2,"a":3}}`,
		`{"step":01,"data":{"a":1}}` + "\n" + `{"step":1e1,"data":{"a":1}}` + "\n" + `{"step":9999999999999999,"data":{"a":1}}`,
		`{"step":6,"data":{}}` + "\n\n" + `{"step":7,"data":{"a":null,"b":-0.0e-2,"c":1e999}}`,
		`{"step":8,"data":{"a":"NaN","b":true,"c":[1]}}`,
		`{"step":9,"a":1}` + "\n" + `{"step":10,"data":{"a":1},"x":2}` + "\n" + `{"step":11,"data":{"a":1}} x`,
		`{"step":12,"data":{"a":1.}}` + "\n" + `{"step":13,"data":{"a":-}}` + "\n" + `{"step":14,"data":{"a":1x}}`,
		// keys that move between lines (the parser remembers the last line's)
		`{"step":1,"data":{"a":1,"b":2,"c":3}}` + "\n" + `{"step":2,"data":{"a":1,"a":2}}` + "\n" + `{"step":3,"data":{"b":1,"b":2,"c":3}}` +
			"\n" + `{"step":4,"data":{"a":1,"c":2,"b":3}}` + "\n" + `{"step":5,"data":{"x":1,"b":2,"c":3}}` + "\n" + `{"step":6,"data":{"a":1,"b":2,"c":3}}`,
		`{"step":1,"data":{"actor/lr":1,"actor/entropy":2}}` + "\n" + `{"step":2,"data":{"actor/lr":1x,"z":2}}` + "\n" + `{"step":3,"data":{"actor/lr":0.1234567890123456789,"z":1e400}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, _ := plots.ParseMetrics(strings.NewReader(in))
		got := parseMetrics([]byte(in))
		if got.Lines != want.Lines || got.Skipped != want.Skipped || got.Ignored != want.Ignored || len(got.Warnings) != len(want.Warnings) {
			t.Fatalf("lines %d/%d skipped %d/%d ignored %d/%d warnings %d/%d", got.Lines, want.Lines, got.Skipped, want.Skipped, got.Ignored, want.Ignored, len(got.Warnings), len(want.Warnings))
		}
		for _, k := range want.Keys() {
			if unshown[k] {
				continue
			}
			if fmt.Sprint(got.Get(k).Steps, got.Get(k).Values) != fmt.Sprint(want.Get(k).Steps, want.Get(k).Values) {
				t.Fatalf("%s: %v, want %v", k, got.Get(k), want.Get(k))
			}
		}
		for _, k := range got.Keys() {
			if want.Get(k) == nil {
				t.Fatalf("%s: not in ParseMetrics", k)
			}
		}
	})
}

// TestConcurrentRequests serves pages from many goroutines while a run's
// metrics grow (run it with -race).
func TestConcurrentRequests(t *testing.T) {
	root := t.TempDir()
	dir := writeRun(t, root, "sw/a-s1", "a", 1, 50, 100, true)
	writeRun(t, root, "sw/a-s2", "a", 2, 50, 100, false)
	s, ts := newTestServer(t, root)
	go s.warm()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := 51; st <= 80; st++ {
			f, _ := os.OpenFile(filepath.Join(dir, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
			fmt.Fprintf(f, `{"step":%d,"data":{"actor/entropy":0.3,"critic/score/mean":0.5}}`+"\n", st)
			f.Close()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	errs := make(chan error, 64)
	for g := range 8 {
		go func() {
			for i := range 6 {
				for _, p := range []string{"/", "/run?id=sw/a-s1", "/compare?sweep=sw", "/fig?sweep=sw&name=entropy", "/samples?id=sw/a-s1", "/api/versions?sweep=sw"} {
					resp, err := http.Get(ts.URL + p)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- fmt.Errorf("goroutine %d round %d: %s: %d", g, i, p, resp.StatusCode)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
	r, _, err := s.loadRun("sw/a-s1")
	if err != nil || r.Get("actor/entropy").Len() != 80 {
		t.Errorf("after the appends: %v points, %v", r.Get("actor/entropy").Len(), err)
	}
}
