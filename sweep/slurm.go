package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"github.com/entrolab/entrolab/trainer"
)

// SlurmConfig is the sweep file's slurm: section.
type SlurmConfig struct {
	Partition   string   `mapstructure:"partition"`     // #SBATCH --partition; "" = the cluster's default
	Account     string   `mapstructure:"account"`       // #SBATCH --account; "" = none
	Time        string   `mapstructure:"time"`          // per cell, Slurm's format (90, 2:00:00, 1-12); "" = the partition's limit
	CPUsPerTask int      `mapstructure:"cpus_per_task"` // per cell; 0 = workers when set, else 1
	Mem         string   `mapstructure:"mem"`           // per cell (4G, 500M); "" = the cluster's default
	MaxParallel int      `mapstructure:"max_parallel"`  // array throttle (%N): cells running at once; 0 = no limit
	Requeue     bool     `mapstructure:"requeue"`       // #SBATCH --requeue: preempted cells are requeued and resume; default true
	Extra       []string `mapstructure:"extra"`         // more #SBATCH options, e.g. "--qos=short"
	Setup       []string `mapstructure:"setup"`         // shell lines run before the cell, e.g. "module load openblas"
	Entrolab    string   `mapstructure:"entrolab"`      // the binary the jobs run (on the shared filesystem); "" = the one submitting
}

// DefaultSlurmConfig requeues preempted cells and sets nothing else.
func DefaultSlurmConfig() SlurmConfig { return SlurmConfig{Requeue: true} }

var (
	slurmNameRe = regexp.MustCompile(`^[A-Za-z0-9_.,-]*$`)
	slurmTimeRe = regexp.MustCompile(`^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$`)
	slurmMemRe  = regexp.MustCompile(`^\d+[KMGT]?$`)
	// options entrolab writes itself; an extra line setting one would break the array
	slurmOwned = []string{"--array", "-a", "--output", "-o", "--error", "-e", "--chdir", "-D", "--dependency", "-d", "--parsable", "--job-name", "-J", "--open-mode", "--wrap"}
)

func (s SlurmConfig) validate() error {
	switch {
	case !slurmNameRe.MatchString(s.Partition):
		return fmt.Errorf("slurm.partition = %q, want letters, digits, _.,-", s.Partition)
	case !slurmNameRe.MatchString(s.Account):
		return fmt.Errorf("slurm.account = %q, want letters, digits, _.,-", s.Account)
	case s.Time != "" && !slurmTimeRe.MatchString(s.Time):
		return fmt.Errorf("slurm.time = %q, want Slurm's format: minutes, [H:]M:S, D-H[:M[:S]] or UNLIMITED", s.Time)
	case s.CPUsPerTask < 0 || s.CPUsPerTask > maxWorkers:
		return fmt.Errorf("slurm.cpus_per_task = %d, want in [0, %d] (0: workers, else 1)", s.CPUsPerTask, maxWorkers)
	case s.Mem != "" && !slurmMemRe.MatchString(s.Mem):
		return fmt.Errorf("slurm.mem = %q, want a size such as 4G or 500M", s.Mem)
	case s.MaxParallel < 0 || s.MaxParallel > 1_000_000:
		return fmt.Errorf("slurm.max_parallel = %d, want in [0, 1000000] (0: no throttle)", s.MaxParallel)
	case strings.ContainsAny(s.Entrolab, "\n\r"):
		return fmt.Errorf("slurm.entrolab = %q holds a line break", s.Entrolab)
	}
	for i, x := range s.Extra {
		if !strings.HasPrefix(x, "-") || strings.ContainsAny(x, "\n\r") {
			return fmt.Errorf("slurm.extra[%d] = %q, want one sbatch option such as --qos=short", i, x)
		}
		opt, _, _ := strings.Cut(strings.Fields(x)[0], "=")
		for _, o := range slurmOwned {
			if opt == o {
				return fmt.Errorf("slurm.extra[%d] = %q sets %s, which entrolab writes itself (known owned options: %s)", i, x, o, strings.Join(slurmOwned, " "))
			}
		}
	}
	for i, x := range s.Setup {
		if strings.ContainsAny(x, "\n\r") {
			return fmt.Errorf("slurm.setup[%d] = %q holds a line break: give one line per entry", i, x)
		}
	}
	return nil
}

func (s SlurmConfig) cpus() int {
	if s.CPUsPerTask > 0 {
		return s.CPUsPerTask
	}
	return 1
}

// SlurmPlan is what a submission sends: the scripts and the cells they run.
type SlurmPlan struct {
	Dir     string // the sweep directory, absolute
	Cells   []int  // manifest indices the array runs (the unfinished ones)
	Prepare string // the base-policy job's script; "" when every base exists
	Array   string // the job array's script
	Report  string // the report job's script (submitted afterany the array)
}

// PlanSlurm writes the manifest and the scripts (into DIR/slurm/) for the
// unfinished cells of c, and returns them. Nothing is submitted.
func PlanSlurm(c Config) (SlurmPlan, error) {
	m, err := WriteManifest(c, c.WorkersFor("slurm"))
	if err != nil {
		return SlurmPlan{}, err
	}
	dir, err := filepath.Abs(c.Out)
	if err != nil {
		return SlurmPlan{}, err
	}
	p := SlurmPlan{Dir: dir}
	needBase := false
	for _, cell := range m.Cells {
		if runState(filepath.Join(dir, cell.Name), cell.Steps) == stateDone {
			continue
		}
		p.Cells = append(p.Cells, cell.Index)
		cfg, err := cellConfig(dir, cell)
		if err != nil {
			return p, err
		}
		if !exists(filepath.Join(trainer.BasePath(cfg), "manifest.json")) {
			needBase = true
		}
	}
	exe := c.Slurm.Entrolab
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return p, fmt.Errorf("sweep: slurm: the entrolab binary: %w (set slurm.entrolab)", err)
		}
		if strings.Contains(exe, string(filepath.Separator)+"go-build") {
			return p, fmt.Errorf("sweep: slurm: this entrolab is go run's temporary build %s, gone before the jobs start: build one on the shared filesystem (go build -o bin/entrolab ./cmd/entrolab) or set slurm.entrolab", exe)
		}
	}
	for _, path := range []string{dir, m.Workdir} {
		if strings.ContainsAny(path, " \t\n\r%") {
			return p, fmt.Errorf("sweep: slurm: path %q holds whitespace or %%, which #SBATCH lines cannot carry; use another out or working directory", path)
		}
	}
	cpus := c.Slurm.CPUsPerTask
	if cpus == 0 {
		cpus = m.Workers
	}
	common := func(b *strings.Builder, job, output string, cpus int) {
		b.WriteString("#!/bin/bash\n")
		fmt.Fprintf(b, "#SBATCH --job-name=%s\n", job)
		fmt.Fprintf(b, "#SBATCH --output=%s\n", output)
		b.WriteString("#SBATCH --open-mode=append\n")
		fmt.Fprintf(b, "#SBATCH --chdir=%s\n", m.Workdir)
		b.WriteString("#SBATCH --ntasks=1\n")
		fmt.Fprintf(b, "#SBATCH --cpus-per-task=%d\n", cpus)
		for _, kv := range [][2]string{{"partition", c.Slurm.Partition}, {"account", c.Slurm.Account}, {"time", c.Slurm.Time}, {"mem", c.Slurm.Mem}} {
			if kv[1] != "" {
				fmt.Fprintf(b, "#SBATCH --%s=%s\n", kv[0], kv[1])
			}
		}
	}
	tail := func(b *strings.Builder) {
		for _, x := range c.Slurm.Extra {
			fmt.Fprintf(b, "#SBATCH %s\n", x)
		}
		b.WriteString("set -eu\n")
		for _, x := range c.Slurm.Setup {
			b.WriteString(x + "\n")
		}
	}
	logs := filepath.Join(dir, "slurm")
	if len(p.Cells) > 0 {
		var b strings.Builder
		common(&b, "entrolab-"+c.Name, filepath.Join(logs, "%A_%a.out"), cpus)
		spec := arraySpec(p.Cells)
		if c.Slurm.MaxParallel > 0 {
			spec += "%" + strconv.Itoa(c.Slurm.MaxParallel)
		}
		fmt.Fprintf(&b, "#SBATCH --array=%s\n", spec)
		if c.Slurm.Requeue {
			b.WriteString("#SBATCH --requeue\n")
		}
		tail(&b)
		fmt.Fprintf(&b, "# entrolab sweep %s: array task i runs cell i of %s/%s, whose id is ids[i]\n", c.Name, dir, ManifestFile)
		b.WriteString("ids=(")
		for i, cell := range m.Cells {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(cell.ID)
		}
		b.WriteString(")\n")
		// exec: the cell is the job's process, so scancel's SIGTERM reaches it
		// and it checkpoints before Slurm's KillWait runs out
		fmt.Fprintf(&b, "exec %s sweep run-cell %s \"$SLURM_ARRAY_TASK_ID\" --id \"${ids[$SLURM_ARRAY_TASK_ID]}\"\n", shellQuote(exe), shellQuote(dir))
		p.Array = b.String()
		if needBase {
			var b strings.Builder
			common(&b, "entrolab-"+c.Name+"-prepare", filepath.Join(logs, "prepare-%j.out"), cpus)
			tail(&b)
			fmt.Fprintf(&b, "exec %s sweep prepare %s\n", shellQuote(exe), shellQuote(dir))
			p.Prepare = b.String()
		}
	}
	var rb strings.Builder
	common(&rb, "entrolab-"+c.Name+"-report", filepath.Join(logs, "report-%j.out"), 1)
	tail(&rb)
	fmt.Fprintf(&rb, "exec %s sweep report %s\n", shellQuote(exe), shellQuote(dir))
	p.Report = rb.String()
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return p, err
	}
	for name, s := range map[string]string{"prepare.sbatch": p.Prepare, "array.sbatch": p.Array, "report.sbatch": p.Report} {
		path := filepath.Join(logs, name)
		if s == "" {
			os.Remove(path)
			continue
		}
		if err := atomicfile.Write(path, []byte(s)); err != nil {
			return p, err
		}
	}
	return p, nil
}

// arraySpec writes sorted indices as Slurm ranges: 0-3,5,7-8.
func arraySpec(idx []int) string {
	idx = append([]int(nil), idx...)
	sort.Ints(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

var shellPlain = regexp.MustCompile(`^[A-Za-z0-9_./=+:,-]+$`)

// shellQuote quotes s for bash when it holds more than plain path characters.
func shellQuote(s string) string {
	if shellPlain.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Submission is one `sweep --executor slurm`: the jobs it submitted,
// appended to DIR/slurm/jobs.json.
type Submission struct {
	Time    time.Time `json:"time"`
	Prepare string    `json:"prepare,omitempty"` // base-policy job
	Array   string    `json:"array,omitempty"`   // the job array; task i runs cell i
	Report  string    `json:"report"`            // afterany the array
	Cells   []int     `json:"cells"`             // the array's task ids
}

// SubmitSlurm submits a plan with sbatch: the prepare job (when a base is
// missing), the array (afterok the prepare job) and the report (afterany
// the array), and records the job ids in DIR/slurm/jobs.json.
func SubmitSlurm(ctx context.Context, p SlurmPlan) (Submission, error) {
	s := Submission{Time: time.Now().UTC(), Cells: p.Cells}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return s, fmt.Errorf("sweep: slurm: sbatch is not on PATH (--dry-run writes the scripts without submitting)")
	}
	logs := filepath.Join(p.Dir, "slurm")
	var err error
	if p.Prepare != "" {
		if s.Prepare, err = sbatch(ctx, filepath.Join(logs, "prepare.sbatch")); err != nil {
			return s, err
		}
	}
	if p.Array != "" {
		var deps []string
		if s.Prepare != "" {
			deps = []string{"--dependency=afterok:" + s.Prepare, "--kill-on-invalid-dep=yes"}
		}
		if s.Array, err = sbatch(ctx, filepath.Join(logs, "array.sbatch"), deps...); err != nil {
			return s, err
		}
	}
	var deps []string
	if s.Array != "" {
		deps = []string{"--dependency=afterany:" + s.Array, "--kill-on-invalid-dep=yes"}
	}
	if s.Report, err = sbatch(ctx, filepath.Join(logs, "report.sbatch"), deps...); err != nil {
		return s, err
	}
	subs, _ := readSubmissions(p.Dir)
	subs = append(subs, s)
	b, _ := json.MarshalIndent(subs, "", "  ")
	return s, atomicfile.Write(filepath.Join(logs, "jobs.json"), append(b, '\n'))
}

func sbatch(ctx context.Context, script string, args ...string) (string, error) {
	args = append(append([]string{"--parsable"}, args...), script)
	cmd := exec.CommandContext(ctx, "sbatch", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sweep: sbatch %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sweep: sbatch %s printed %q, want a job id", script, out)
	}
	return id, nil
}

func readSubmissions(dir string) ([]Submission, error) {
	b, err := os.ReadFile(filepath.Join(dir, "slurm", "jobs.json"))
	if err != nil {
		return nil, err
	}
	var subs []Submission
	err = json.Unmarshal(b, &subs)
	return subs, err
}

// queued is a cell's entry in squeue.
type queued struct{ job, state string }

// squeueStates maps cell indices to their squeue state for the arrays this
// sweep submitted (later submissions win). nil when the sweep was never
// submitted or squeue is not available.
func squeueStates(dir string, m Manifest) map[int]queued {
	subs, err := readSubmissions(dir)
	if err != nil || len(subs) == 0 {
		return nil
	}
	if _, err := exec.LookPath("squeue"); err != nil {
		return nil
	}
	arrays := map[string]bool{}
	for _, s := range subs {
		if s.Array != "" {
			arrays[s.Array] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "squeue", "-h", "-r", "--me", "-o", "%i|%T").Output()
	if err != nil {
		return nil
	}
	return parseSqueue(out, arrays, len(m.Cells))
}

// parseSqueue reads `squeue -h -r -o %i|%T` lines ("12_3|RUNNING") of the
// given array jobs into cell index -> state; of two arrays listing one task
// the later (higher) job id wins.
func parseSqueue(out []byte, arrays map[string]bool, cells int) map[int]queued {
	res := map[int]queued{}
	jobOf := map[int]int{}
	for _, line := range strings.Split(string(out), "\n") {
		id, state, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok {
			continue
		}
		job, task, ok := strings.Cut(id, "_")
		if !ok || !arrays[job] {
			continue
		}
		t, err := strconv.Atoi(task)
		j, _ := strconv.Atoi(job)
		if err != nil || t < 0 || t >= cells {
			continue
		}
		if prev, seen := jobOf[t]; seen && prev > j {
			continue
		}
		jobOf[t] = j
		res[t] = queued{job: id, state: state}
	}
	return res
}

// WriteSlurmPlan prints the scripts of a plan and the commands that submit them.
func WriteSlurmPlan(w io.Writer, p SlurmPlan) {
	for _, s := range []struct{ name, text string }{{"prepare.sbatch", p.Prepare}, {"array.sbatch", p.Array}, {"report.sbatch", p.Report}} {
		if s.text == "" {
			continue
		}
		fmt.Fprintf(w, "# ---- %s ----\n%s", filepath.Join(p.Dir, "slurm", s.name), s.text)
	}
	fmt.Fprintln(w, "# ---- submit with ----")
	dep := ""
	if p.Prepare != "" {
		fmt.Fprintf(w, "P=$(sbatch --parsable %s)\n", filepath.Join(p.Dir, "slurm", "prepare.sbatch"))
		dep = "--dependency=afterok:$P --kill-on-invalid-dep=yes "
	}
	if p.Array != "" {
		fmt.Fprintf(w, "A=$(sbatch --parsable %s%s)\n", dep, filepath.Join(p.Dir, "slurm", "array.sbatch"))
		fmt.Fprintf(w, "sbatch --dependency=afterany:$A --kill-on-invalid-dep=yes %s\n", filepath.Join(p.Dir, "slurm", "report.sbatch"))
	} else {
		fmt.Fprintf(w, "sbatch %s\n", filepath.Join(p.Dir, "slurm", "report.sbatch"))
	}
}

// SlurmJobs is one line about the sweep's last Slurm submission: its jobs
// and what squeue says of them ("" when the sweep was never submitted).
func SlurmJobs(dir string) string {
	subs, err := readSubmissions(dir)
	if err != nil || len(subs) == 0 {
		return ""
	}
	s := subs[len(subs)-1]
	state := map[string]string{}
	if _, err := exec.LookPath("squeue"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "squeue", "-h", "--me", "-o", "%i|%T|%r").Output(); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Split(strings.TrimSpace(line), "|")
				if len(f) == 3 {
					job, _, _ := strings.Cut(f[0], "_")
					if _, seen := state[job]; !seen {
						state[job] = strings.ToLower(f[1])
						if f[2] != "None" && f[1] == "PENDING" {
							state[job] += " (" + f[2] + ")"
						}
					}
				}
			}
		}
	}
	var parts []string
	for _, j := range []struct{ what, id string }{{"base-policy job", s.Prepare}, {"array", s.Array}, {"report job", s.Report}} {
		if j.id == "" {
			continue
		}
		st := state[j.id]
		if st == "" {
			st = "not in the queue"
		}
		parts = append(parts, fmt.Sprintf("%s %s: %s", j.what, j.id, st))
	}
	return fmt.Sprintf("slurm: submitted %s (%d cells): %s", s.Time.Format(time.RFC3339), len(s.Cells), strings.Join(parts, "; "))
}
