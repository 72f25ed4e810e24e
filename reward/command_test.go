package reward

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play a reward command: with
// REWARD_TEST_CHILD set (passed through reward.env) it serves the protocol
// in the named way instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("REWARD_TEST_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child modes: good (reward 1 for the answer, else 0; metric "len"),
// crash (exits 3 after a message on stderr), slow (replies after 10 s),
// garbage (prints a non-JSON line), short (one result too few), env
// (reports whether HOME leaked and its working directory), crash2 (good
// once, then crashes).
func child(mode string) int {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	n := 0
	for in.Scan() {
		n++
		var req struct {
			Request     int `json:"request"`
			Completions []struct {
				Prompt, Completion, Answer, ID, Source string
				Extra                                  map[string]any
			} `json:"completions"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			return 2
		}
		switch {
		case mode == "crash" || (mode == "crash2" && n == 2):
			fmt.Fprintln(os.Stderr, "Traceback: boom")
			return 3
		case mode == "slow":
			time.Sleep(10 * time.Second)
		case mode == "garbage":
			fmt.Println("hello, this is not json")
			continue
		}
		var res []map[string]any
		for _, c := range req.Completions {
			r := map[string]any{"reward": 0.0, "correct": false, "len": len(c.Completion)}
			if c.Completion == c.Answer {
				r["reward"], r["correct"] = 1.0, true
			}
			if mode == "env" {
				wd, _ := os.Getwd()
				_, home := os.LookupEnv("HOME")
				r["home_leaked"] = home
				r["wd_is_run_dir"] = wd == os.Getenv("ENTROLAB_RUN_DIR")
				r["request"] = req.Request
			}
			res = append(res, r)
		}
		if mode == "short" {
			res = res[:len(res)-1]
		}
		b, _ := json.Marshal(map[string]any{"results": res})
		fmt.Println(string(b))
	}
	return 0
}

func startChild(t *testing.T, mode, timeout string) (*Command, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := CommandConfig{Command: []string{os.Args[0]}, Timeout: timeout, Env: []string{"REWARD_TEST_CHILD=" + mode}}
	c, err := StartCommand(nil, cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

func batch() ([]Problem, []string) {
	return []Problem{{Prompt: "ab>", Answer: "ba", ID: "1"}, {Prompt: "cd>", Answer: "dc"}, {Prompt: "ef>", Answer: "fe"}},
		[]string{"ba", "cd", "fe"}
}

func TestCommandGood(t *testing.T) {
	c, _ := startChild(t, "good", "10s")
	probs, comps := batch()
	for round := range 3 {
		dst := make([]Score, len(probs))
		if err := c.ScoreBatch(dst, probs, comps); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false, true} {
			if dst[i].Correct != want || dst[i].Format != want || dst[i].Reward != map[bool]float64{true: 1}[want] || dst[i].Metrics["len"] != 2 {
				t.Errorf("round %d: result %d = %+v", round, i, dst[i])
			}
		}
		if m := MetricMeans(dst); m["reward/len"] != 2 {
			t.Errorf("MetricMeans = %v", m)
		}
	}
}

func TestCommandEnvironment(t *testing.T) {
	t.Setenv("HOME", "/secret-home")
	c, _ := startChild(t, "env", "10s")
	probs, comps := batch()
	dst := make([]Score, len(probs))
	if err := c.ScoreBatch(dst, probs, comps); err != nil {
		t.Fatal(err)
	}
	if dst[0].Metrics["home_leaked"] != 0 || dst[0].Metrics["wd_is_run_dir"] != 1 || dst[0].Metrics["request"] != 1 {
		t.Errorf("child saw %v, want a clean environment and the run directory as cwd", dst[0].Metrics)
	}
}

// TestCommandFailures: each misbehaving child stops the batch with an error
// naming the command, the request and the reply line, and the request is
// saved in the run directory.
func TestCommandFailures(t *testing.T) {
	for _, tc := range []struct {
		mode, timeout string
		want          []string
	}{
		{"crash", "10s", []string{"request 1", "exited (exit status 3) before replying", `stderr`, `ends "Traceback: boom"`}},
		{"slow", "300ms", []string{"request 1", "no reply within reward.timeout 300ms"}},
		{"garbage", "10s", []string{"request 1", `reply line 1 "hello, this is not json"`, "not a JSON reply"}},
		{"short", "10s", []string{"request 1", "reply line 1", "2 results for 3 completions"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c, dir := startChild(t, tc.mode, tc.timeout)
			probs, comps := batch()
			start := time.Now()
			err := c.ScoreBatch(make([]Score, len(probs)), probs, comps)
			if err == nil {
				t.Fatal("ScoreBatch succeeded")
			}
			msg := err.Error()
			for _, w := range append(tc.want, "reward command [", filepath.Base(os.Args[0]), filepath.Join(dir, "reward-request.json")) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("failure took %v", time.Since(start))
			}
			b, rerr := os.ReadFile(filepath.Join(dir, "reward-request.json"))
			if rerr != nil || !strings.Contains(string(b), `"completion":"cd"`) {
				t.Errorf("saved request = %s, %v", b, rerr)
			}
			if err := c.ScoreBatch(make([]Score, len(probs)), probs, comps); err == nil || !strings.Contains(err.Error(), "stopped after an earlier failure") {
				t.Errorf("second ScoreBatch = %v, want a refusal", err)
			}
		})
	}
}

func TestCommandStderrToLog(t *testing.T) {
	c, dir := startChild(t, "crash", "10s")
	probs, comps := batch()
	c.ScoreBatch(make([]Score, len(probs)), probs, comps)
	b, _ := os.ReadFile(filepath.Join(dir, "reward.log"))
	if !strings.Contains(string(b), "Traceback: boom") {
		t.Errorf("reward.log = %q, want the child's stderr", b)
	}
}

func TestCommandStartFailure(t *testing.T) {
	_, err := StartCommand(nil, CommandConfig{Command: []string{"/nonexistent/reward"}, Timeout: "1s"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `reward command ["/nonexistent/reward"]`) {
		t.Errorf("StartCommand = %v", err)
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"results": [{"reward": 1}]}`, ""},
		{`{"results": [{"reward": "1"}]}`, `result 0: "reward" "1" is not a finite number`},
		{`{"results": [{"correct": true}]}`, `result 0 has no "reward"`},
		{`{"results": [{"reward": 1, "correct": 1}]}`, `"correct" 1 is not a boolean`},
		{`{"results": [{"reward": 1, "note": "x"}]}`, `metric "note" = "x"`},
		{`{"results": [{"reward": 1, "a b": 1}]}`, `metric name "a b"`},
		{`{"results": [null]}`, `result 0 is not an object`},
		{`{"rewards": [1]}`, `no "results" list`},
		{`{"results": [{"reward": 1}]} {}`, `more than one JSON value`},
	} {
		err := parseReply(make([]Score, 1), []byte(tc.line))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("parseReply(%s) = %v, want %q", tc.line, err, tc.want)
		}
	}
}

func TestCommandConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    CommandConfig
		want string
	}{
		{DefaultCommandConfig(), ""},
		{CommandConfig{Command: []string{"x"}, Timeout: "soon"}, "reward.timeout"},
		{CommandConfig{Command: []string{"x"}, Timeout: "-1s"}, "reward.timeout"},
		{CommandConfig{Command: []string{"x", ""}, Timeout: "1s"}, "reward.command[1] is empty"},
		{CommandConfig{Command: []string{"x"}, Timeout: "1s", Env: []string{"1X=2"}}, "reward.env[0]"},
		{CommandConfig{Timeout: "30s", Env: []string{"X"}}, "reward.env is set but reward.command is empty"},
		{CommandConfig{Timeout: "10s"}, `reward.timeout "10s" is set but reward.command is empty`},
	} {
		err := tc.c.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}

// FuzzParseReply: any reply line is accepted or refused, never a panic; an
// accepted one gives finite rewards and well-named metrics.
func FuzzParseReply(f *testing.F) {
	f.Add(`{"results": [{"reward": 1, "correct": true, "x": 2}, {"reward": 0.5, "format": true, "ok": false}]}`, 2)
	f.Add(`{"results": [{"reward": 1e999}]}`, 1)
	f.Add(`{"results": []}`, 0)
	f.Add(`garbage`, 1)
	f.Fuzz(func(t *testing.T, line string, n int) {
		if n < 0 || n > 64 {
			return
		}
		dst := make([]Score, n)
		if err := parseReply(dst, []byte(line)); err != nil {
			return
		}
		for _, s := range dst {
			if s.Reward != s.Reward || s.Reward > 1e308 || s.Reward < -1e308 {
				t.Fatalf("parseReply(%q) reward %v", line, s.Reward)
			}
			for k := range s.Metrics {
				if !metricName.MatchString(k) {
					t.Fatalf("parseReply(%q) metric %q", line, k)
				}
			}
		}
	})
}
