package configs

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/entrolab/entrolab/reward"
	"gopkg.in/yaml.v3"
)

// filePaths are the path settings as an experiment file writes them.
type filePaths struct {
	Task struct {
		Train     string `yaml:"train"`
		Test      string `yaml:"test"`
		Tokenizer string `yaml:"tokenizer"`
	} `yaml:"task"`
	Reward struct {
		Command []string `yaml:"command"`
	} `yaml:"reward"`
}

// readPaths reads the path settings of a YAML file ("" or unreadable: none).
func readPaths(file string) filePaths {
	var fp filePaths
	if file == "" {
		return fp
	}
	if b, err := os.ReadFile(file); err == nil {
		yaml.Unmarshal(b, &fp)
	}
	return fp
}

// ResolvePaths makes the dataset paths of task (task.train, task.test,
// task.tokenizer) and the file arguments of a reward command absolute, so
// that the resolved config names the same files from any directory (a run
// is resumed from its config.yaml). A relative path written in file (the
// experiment) is relative to file's directory; one from the environment or
// --set is relative to the working directory. A command argument (the
// program too when it contains a slash) is made absolute only when it names
// an existing file; others ("python3", "-u", "--fast") stay as they are.
func ResolvePaths(task *reward.Config, cmd *reward.CommandConfig, file string) {
	fp := readPaths(file)
	dir := ""
	if file != "" {
		dir = filepath.Dir(file)
	}
	abs := func(p, written string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		if p == written && dir != "" {
			p = filepath.Join(dir, p)
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	task.Train = abs(task.Train, fp.Task.Train)
	task.Test = abs(task.Test, fp.Task.Test)
	task.Tokenizer = abs(task.Tokenizer, fp.Task.Tokenizer)
	if cmd == nil {
		return
	}
	fromFile := len(fp.Reward.Command) == len(cmd.Command)
	for i := range fp.Reward.Command {
		fromFile = fromFile && fp.Reward.Command[i] == cmd.Command[i]
	}
	for i, a := range cmd.Command {
		if a == "" || filepath.IsAbs(a) || (i == 0 && !strings.ContainsRune(a, '/')) || strings.HasPrefix(a, "-") {
			continue
		}
		p := a
		if fromFile && dir != "" {
			p = filepath.Join(dir, a)
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			if ap, err := filepath.Abs(p); err == nil {
				cmd.Command[i] = ap
			}
		}
	}
}
