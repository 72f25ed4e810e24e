package reward

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// BatchScorer is a task that scores many completions at once (a reward
// command: one request per batch). ScoreAll uses it when a task has it.
type BatchScorer interface {
	// ScoreBatch fills dst[i] with the score of completions[i] for probs[i].
	ScoreBatch(dst []Score, probs []Problem, completions []string) error
}

// ScoreAll scores completions[i] against probs[i] into dst: in one batch
// when task is a BatchScorer, else one Score call each (which cannot fail).
func ScoreAll(dst []Score, task Task, probs []Problem, completions []string) error {
	if len(dst) != len(probs) || len(probs) != len(completions) {
		panic(fmt.Sprintf("reward: ScoreAll: %d scores, %d problems, %d completions", len(dst), len(probs), len(completions)))
	}
	if bs, ok := task.(BatchScorer); ok {
		return bs.ScoreBatch(dst, probs, completions)
	}
	for i, p := range probs {
		dst[i] = task.Score(p, completions[i])
	}
	return nil
}

// MetricMeans averages the extra per-completion metrics of scores (a
// reward command's reply fields) over the completions that have them,
// keyed reward/<name>.
func MetricMeans(scores []Score) map[string]float64 {
	sum, n := map[string]float64{}, map[string]float64{}
	for _, s := range scores {
		for k, v := range s.Metrics {
			sum[k] += v
			n[k]++
		}
	}
	out := make(map[string]float64, len(sum))
	for k, v := range sum {
		out["reward/"+k] = v / n[k]
	}
	return out
}

// CommandConfig is the reward command: an external program that scores
// completions (the run config's top-level reward section).
type CommandConfig struct {
	// Command is the program and its arguments, e.g. ["python3",
	// "my_reward.py"]; empty: no command (the task's own verifier scores).
	// Arguments naming files beside the experiment file are made absolute
	// when the experiment is loaded.
	Command []string `mapstructure:"command" json:",omitzero"`
	// Timeout bounds the wait for one reply, a Go duration ("10s"); default 30s.
	Timeout string `mapstructure:"timeout" json:",omitzero"`
	// Env lists variables for the child, NAME=value or NAME (copied from
	// entrolab's environment); the child gets only these plus PATH, LANG,
	// LC_ALL, PYTHONUNBUFFERED and ENTROLAB_RUN_DIR.
	Env []string `mapstructure:"env" json:",omitzero"`
}

// DefaultCommandConfig is no command, with a 30 s reply timeout (empty,
// not nil, lists, so that a YAML round trip is exact).
func DefaultCommandConfig() CommandConfig {
	return CommandConfig{Command: []string{}, Timeout: "30s", Env: []string{}}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the timeout and the environment entries.
func (c CommandConfig) Validate() error {
	d, err := time.ParseDuration(c.Timeout)
	if err != nil || d <= 0 || d > 24*time.Hour {
		return fmt.Errorf("reward: reward.timeout %q must be a duration in (0, 24h], e.g. 10s", c.Timeout)
	}
	for i, a := range c.Command {
		if a == "" {
			return fmt.Errorf("reward: reward.command[%d] is empty", i)
		}
	}
	for i, e := range c.Env {
		name, _, _ := strings.Cut(e, "=")
		if !envName.MatchString(name) {
			return fmt.Errorf("reward: reward.env[%d] %q: want NAME=value or NAME", i, e)
		}
	}
	if len(c.Command) == 0 && len(c.Env) > 0 {
		return fmt.Errorf("reward: reward.env is set but reward.command is empty")
	}
	if len(c.Command) == 0 && d != 30*time.Second {
		return fmt.Errorf("reward: reward.timeout %q is set but reward.command is empty", c.Timeout)
	}
	return nil
}

// Command scores completions with a long-running child process speaking
// JSON lines (the protocol is in the README, "Bring your own task"). It
// wraps the task whose problems it scores: Name, Generate and HeldOut come
// from that task, scores from the child.
//
// One request line per batch (every completion of a step) goes to the
// child's stdin:
//
//	{"request": 1, "completions": [{"prompt": "...", "completion": "...", "answer": "...", "id": "...", "source": "train.jsonl:3", "extra": {...}}, ...]}
//
// and one reply line comes back on its stdout, one result per completion
// in order:
//
//	{"results": [{"reward": 1.0, "correct": true, "format": true, "my_metric": 0.5}, ...]}
//
// reward is required and finite, correct defaults to false, format to
// correct; other numeric or boolean fields are metrics (their batch means
// are recorded as reward/<name>). The child runs with the run directory as
// its working directory and a clean environment; its stderr is appended to
// reward.log there. A crash, a reply later than the timeout, a line that is
// not such JSON, or a wrong number of results fails the batch with an error
// naming the command, the request (saved to reward-request.json in the run
// directory) and the reply line; the child is then stopped and the Command
// refuses further batches.
type Command struct {
	Task
	argv    []string
	timeout time.Duration
	dir     string

	mu      sync.Mutex
	proc    *exec.Cmd
	stdin   io.WriteCloser
	replies chan []byte
	stop    chan struct{} // closed when the child is being stopped
	exited  chan struct{}
	waitErr error
	stderr  *tailWriter
	log     *os.File
	request int
	lines   int
	broken  error
}

var _ BatchScorer = (*Command)(nil)

// StartCommand starts cfg's command to score task's completions, with dir
// (the run directory) as its working directory and dir/reward.log receiving
// its stderr.
func StartCommand(task Task, cfg CommandConfig, dir string) (*Command, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Command) == 0 {
		return nil, errors.New("reward: reward.command is empty")
	}
	timeout, _ := time.ParseDuration(cfg.Timeout)
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Command{Task: task, argv: cfg.Command, timeout: timeout, dir: absDir, replies: make(chan []byte, 1), stop: make(chan struct{}), exited: make(chan struct{})}
	if c.log, err = os.OpenFile(filepath.Join(absDir, "reward.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("reward: %s: %w", c.name(), err)
	}
	c.stderr = &tailWriter{w: c.log}
	fmt.Fprintf(c.log, "# entrolab: starting %s in %s%s\n", c.name(), absDir, fileHashes(cfg.Command))
	p := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	p.Dir = absDir
	p.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PYTHONUNBUFFERED=1", "ENTROLAB_RUN_DIR=" + absDir}
	for _, e := range cfg.Env {
		if !strings.Contains(e, "=") {
			v, ok := os.LookupEnv(e)
			if !ok {
				continue
			}
			e += "=" + v
		}
		p.Env = append(p.Env, e)
	}
	p.Stderr = c.stderr
	detach(p)
	p.WaitDelay = 2 * time.Second // a grandchild holding the pipes open cannot block Wait
	if c.stdin, err = p.StdinPipe(); err != nil {
		c.log.Close()
		return nil, err
	}
	stdout, err := p.StdoutPipe()
	if err != nil {
		c.log.Close()
		return nil, err
	}
	if err := p.Start(); err != nil {
		c.log.Close()
		return nil, fmt.Errorf("reward: %s: %w", c.name(), err)
	}
	c.proc = p
	go func() {
		br := bufio.NewReaderSize(stdout, 64<<10)
		for {
			line, err := readLine(br, 64<<20)
			if line != nil {
				select {
				case c.replies <- line:
				case <-c.stop:
				}
			}
			if err != nil {
				break
			}
		}
		c.waitErr = p.Wait()
		close(c.exited)
	}()
	return c, nil
}

// readLine reads one line (without its newline) of at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > max {
			return out[:max], fmt.Errorf("reply line longer than %d bytes", max)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(out) == 0 {
				return nil, err
			}
			return out, err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(out, []byte("\n")), []byte("\r")), nil
	}
}

func (c *Command) name() string {
	q := make([]string, len(c.argv))
	for i, a := range c.argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "reward command [" + strings.Join(q, " ") + "]"
}

type requestItem struct {
	Prompt     string          `json:"prompt"`
	Completion string          `json:"completion"`
	Answer     string          `json:"answer"`
	ID         string          `json:"id,omitempty"`
	Source     string          `json:"source,omitempty"`
	Extra      json.RawMessage `json:"extra,omitempty"`
}

type request struct {
	Request     int           `json:"request"`
	Completions []requestItem `json:"completions"`
}

// ScoreBatch sends one request and reads one reply (see Command).
func (c *Command) ScoreBatch(dst []Score, probs []Problem, completions []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("reward: %s stopped after an earlier failure: %w", c.name(), c.broken)
	}
	c.request++
	req := request{Request: c.request, Completions: make([]requestItem, len(probs))}
	for i, p := range probs {
		req.Completions[i] = requestItem{Prompt: p.Prompt, Completion: completions[i], Answer: p.Answer, ID: p.ID, Source: p.Source, Extra: p.Extra}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return c.fail(nil, nil, fmt.Errorf("encoding the request: %w", err))
	}
	b = append(b, '\n')
	wrote := make(chan error, 1)
	go func() { _, err := c.stdin.Write(b); wrote <- err }()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	var line []byte
	select {
	case line = <-c.replies:
	case <-c.exited:
		select { // a reply written just before exiting still counts
		case line = <-c.replies:
		default:
			return c.fail(b, nil, fmt.Errorf("exited (%v) before replying%s", c.exitStatus(), c.stderrTail()))
		}
	case <-timer.C:
		return c.fail(b, nil, fmt.Errorf("no reply within reward.timeout %v", c.timeout))
	}
	if err := <-wrote; err != nil {
		return c.fail(b, line, fmt.Errorf("writing the request: %v", err))
	}
	c.lines++
	if err := parseReply(dst, line); err != nil {
		return c.fail(b, line, err)
	}
	return nil
}

func parseReply(dst []Score, line []byte) error {
	var rep struct {
		Results []map[string]json.RawMessage `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&rep); err != nil {
		return fmt.Errorf(`not a JSON reply {"results": [...]}: %v`, err)
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value on the reply line")
	}
	if rep.Results == nil {
		return fmt.Errorf(`the reply has no "results" list`)
	}
	if len(rep.Results) != len(dst) {
		return fmt.Errorf("%d results for %d completions", len(rep.Results), len(dst))
	}
	for i, r := range rep.Results {
		if r == nil {
			return fmt.Errorf("result %d is not an object", i)
		}
		var s Score
		raw, ok := r["reward"]
		if !ok {
			return fmt.Errorf(`result %d has no "reward"`, i)
		}
		if err := json.Unmarshal(raw, &s.Reward); err != nil || math.IsNaN(s.Reward) || math.IsInf(s.Reward, 0) {
			return fmt.Errorf(`result %d: "reward" %s is not a finite number`, i, clip(raw))
		}
		if raw, ok := r["correct"]; ok {
			if err := json.Unmarshal(raw, &s.Correct); err != nil {
				return fmt.Errorf(`result %d: "correct" %s is not a boolean`, i, clip(raw))
			}
		}
		s.Format = s.Correct
		if raw, ok := r["format"]; ok {
			if err := json.Unmarshal(raw, &s.Format); err != nil {
				return fmt.Errorf(`result %d: "format" %s is not a boolean`, i, clip(raw))
			}
		}
		for k, raw := range r {
			if k == "reward" || k == "correct" || k == "format" {
				continue
			}
			var v float64
			var bv bool
			switch {
			case json.Unmarshal(raw, &v) == nil && !math.IsNaN(v) && !math.IsInf(v, 0):
			case json.Unmarshal(raw, &bv) == nil:
				v = 0
				if bv {
					v = 1
				}
			default:
				return fmt.Errorf("result %d: metric %q = %s; extra fields must be numbers or booleans", i, k, clip(raw))
			}
			if !metricName.MatchString(k) {
				return fmt.Errorf("result %d: metric name %q: want letters, digits and _ . / -", i, k)
			}
			if s.Metrics == nil {
				s.Metrics = map[string]float64{}
			}
			s.Metrics[k] = v
		}
		dst[i] = s
	}
	return nil
}

var metricName = regexp.MustCompile(`^[A-Za-z0-9_./-]{1,64}$`)

// fail stops the child, saves the request and builds the error.
func (c *Command) fail(req, reply []byte, cause error) error {
	saved := ""
	if req != nil {
		path := filepath.Join(c.dir, "reward-request.json")
		if err := os.WriteFile(path, req, 0o644); err == nil {
			saved = ", saved to " + path
		}
	}
	where := fmt.Sprintf("request %d%s", c.request, saved)
	if reply != nil {
		r := string(reply)
		if len(r) > 200 {
			r = r[:200] + "..."
		}
		where += fmt.Sprintf(": reply line %d %q", c.lines, r)
	}
	err := fmt.Errorf("reward: %s: %s: %w", c.name(), where, cause)
	c.broken = err
	c.kill()
	return err
}

func (c *Command) exitStatus() string {
	if c.waitErr == nil {
		return "status 0"
	}
	return c.waitErr.Error()
}

func (c *Command) stderrTail() string {
	t := c.stderr.tail()
	if t == "" {
		return ""
	}
	return fmt.Sprintf("; its stderr (in %s) ends %q", filepath.Join(c.dir, "reward.log"), t)
}

func (c *Command) kill() {
	if c.proc != nil && c.proc.Process != nil {
		close(c.stop)
		killAll(c.proc)
		<-c.exited
		c.proc = nil
	}
	if c.log != nil {
		c.log.Close()
		c.log = nil
	}
}

// Close ends the child: its stdin is closed, and it is killed if it has not
// exited 5 s later. The wrapped task is closed too when it is an io.Closer.
func (c *Command) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.Task.(io.Closer); ok {
		defer cl.Close()
	}
	if c.proc == nil {
		return nil
	}
	c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		close(c.stop)
		killAll(c.proc)
		<-c.exited
	}
	c.proc = nil
	if c.log != nil {
		c.log.Close()
		c.log = nil
	}
	return nil
}

// Score is ScoreBatch for one completion; a failure gives a zero Score here
// (ScoreAll, which entrolab uses, reports it, and the Command refuses
// further batches).
func (c *Command) Score(p Problem, completion string) Score {
	dst := make([]Score, 1)
	if err := c.ScoreBatch(dst, []Problem{p}, []string{completion}); err != nil {
		return Score{}
	}
	return dst[0]
}

// Unwrap returns the task whose problems the command scores.
func (c *Command) Unwrap() Task { return c.Task }

// tailWriter forwards to w and keeps the last line written.
type tailWriter struct {
	mu   sync.Mutex
	w    io.Writer
	last []byte
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = append(t.last, b...)
	if len(t.last) > 4096 {
		t.last = t.last[len(t.last)-4096:]
	}
	if t.w != nil {
		t.w.Write(b)
	}
	return len(b), nil
}

func (t *tailWriter) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimRight(string(t.last), "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[len(s)-300:]
	}
	return s
}

// fileHashes names the SHA-256 of each argument that is a file (a reward
// script), so the run's log records which code scored it.
func fileHashes(argv []string) string {
	var b strings.Builder
	for _, a := range argv {
		if !filepath.IsAbs(a) {
			continue
		}
		data, err := os.ReadFile(a)
		if err != nil || len(data) > 64<<20 {
			continue
		}
		fmt.Fprintf(&b, "; sha256(%s) = %x", filepath.Base(a), sha256.Sum256(data))
	}
	return b.String()
}
