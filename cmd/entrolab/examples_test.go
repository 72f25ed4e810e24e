package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/policy/policytest"
	"github.com/entrolab/entrolab/trainer"
)

// exampleOrder runs the commands whose examples make what later examples
// read (a base, runs) first.
var exampleOrder = []string{"version", "tasks", "configs", "sft", "train", "eval", "score", "export", "plot", "sweep"}

// shrink keeps every example's shape but cuts its size so the whole set
// runs in seconds: step counts become 2.
var shrink = regexp.MustCompile(`(train\.steps=|--steps )\d+`)

// exampleEnv sizes each command's runs through its ENTROLAB_* settings.
var exampleEnv = map[string][]string{
	"sft":   {"ENTROLAB_MAX_STEPS=20", "ENTROLAB_EVAL_EVERY=10", "ENTROLAB_EVAL_SIZE=16"},
	"train": {"ENTROLAB_TRAIN_STEPS=2", "ENTROLAB_EVAL_PROBLEMS=8", "ENTROLAB_EVAL_K=2"},
}

// TestEveryHelpExample runs every Example: line of every command's --help,
// in a scratch directory holding the files the examples name.
func TestEveryHelpExample(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	// the base train looks for, in the cache layout sft writes
	cfg, err := configs.LoadTrain(configs.DefaultExperiment, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(trainer.BasePath(cfg), os.DirFS(policytest.BaseDir())); err != nil {
		t.Fatal(err)
	}
	// a base written with sft --out runs/base-addition, as score's and export's examples name
	if err := os.CopyFS(filepath.Join("runs", "base-addition"), os.DirFS(policytest.BaseDir())); err != nil {
		t.Fatal(err)
	}
	exp, _ := configs.Experiment("grpo_addition")
	os.WriteFile("my_experiment.yaml", exp, 0o644)
	os.WriteFile("my_sweep.yaml", []byte("name: mine\nexperiments: [grpo_addition]\nseeds: [1, 2, 3, 4]\nworkers: 1\nslurm:\n  entrolab: bin/entrolab\nset: [\"eval.problems=8\"]\n"), 0o644)

	// every command's examples, a subcommand's after its parent's
	cmds := map[string]string{}
	for _, c := range newRoot().Commands() {
		ex := c.Example
		for _, sub := range c.Commands() {
			ex += "\n" + sub.Example
		}
		cmds[c.Name()] = ex
	}
	ran := 0
	for _, name := range exampleOrder {
		ex, ok := cmds[name]
		if !ok {
			t.Errorf("no command %s", name)
			continue
		}
		delete(cmds, name)
		for _, line := range strings.Split(ex, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			stdin := ""
			if pre, rest, ok := strings.Cut(line, " | "); ok && strings.HasPrefix(pre, "echo ") {
				stdin, line = strings.Trim(strings.TrimPrefix(pre, "echo "), "'")+"\n", rest
			}
			args := strings.Fields(shrink.ReplaceAllString(line, "${1}2"))
			if args[0] != "entrolab" {
				t.Errorf("%s: example %q does not start with entrolab", name, line)
				continue
			}
			args = args[1:]
			redirect := ""
			if i := slicesIndex(args, ">"); i >= 0 && i+1 < len(args) {
				redirect, args = args[i+1], args[:i]
			}
			var expanded []string
			for _, a := range args {
				if strings.Contains(a, "*") {
					m, _ := filepath.Glob(a)
					if len(m) == 0 {
						t.Errorf("%s: %q matches nothing", line, a)
					}
					expanded = append(expanded, m...)
					continue
				}
				expanded = append(expanded, a)
			}
			if name == "sweep" && slicesIndex(expanded, "-c") >= 0 {
				expanded = append(expanded, "--set", "train.steps=2", "--set", "eval.problems=8", "--set", "eval.k=2")
			}
			for _, kv := range exampleEnv[name] {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			out, err := executeIn(t, stdin, expanded...)
			for _, kv := range exampleEnv[name] {
				k, _, _ := strings.Cut(kv, "=")
				os.Unsetenv(k)
			}
			if err != nil {
				t.Errorf("example %q: %v\n%s", line, err, out)
				continue
			}
			if redirect != "" {
				os.WriteFile(redirect, []byte(out), 0o644)
			}
			ran++
		}
	}
	// serve runs until interrupted: its examples are served by serve's own tests
	delete(cmds, "serve")
	for name, ex := range cmds {
		if ex != "" {
			t.Errorf("command %s has examples but no place in exampleOrder", name)
		}
	}
	if ran < 10 {
		t.Errorf("only %d examples ran", ran)
	}
}

func slicesIndex(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// executeIn is execute with stdin.
func executeIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
