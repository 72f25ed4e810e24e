package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/sweep"
	"github.com/spf13/cobra"
)

type sweepOptions struct {
	file       string
	sets       []string
	reportOnly bool
	executor   string
	dryRun     bool
}

func newSweepCmd() *cobra.Command {
	o := &sweepOptions{}
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run a grid of experiments × seeds × overrides (locally, on Slurm or Kubernetes), then figures, tables and report.html",
		Long: `sweep expands a sweep file's grid into cells, writes them to the sweep's out
directory (default runs/sweep-<name>) as manifest.json (each cell with a stable
id from its resolved config) and runs them with an executor:

  local  in this process, parallel cells at a time (the default)
  slurm  an sbatch job array, one task per unfinished cell (throttle %N from
         slurm.max_parallel), then a report job (afterany the array)
  k8s    with --dry-run only: an Indexed Job manifest in OUT/k8s/

Each cell runs through 'entrolab sweep run-cell OUT INDEX', which is
idempotent: a finished cell is skipped, an interrupted one resumes from its
checkpoint, a cell whose stored config differs is refused. Run the same command
again after an interruption. At the end (local) or in the report job (slurm)
the finished cells are gathered into comparison figures (the seeds of one
variant as a mean with a 95% bootstrap band, each variant labelled by its values),
summary.md, summary.csv and report.html.

Bundled sweeps: ` + strings.Join(configs.Sweeps(), ", ") + `. A sweep file:

  name: mine
  experiments: [grpo_addition, clip_cov_addition]   # bundled names or YAML files
  seeds: [1, 2, 3]
  set: ["train.steps=200"]                          # for every run
  overrides: [["optim.lr=1e-4"], ["optim.lr=3e-4"]] # optional grid axis
  parallel: 1                                       # local: cells at a time
  workers: 0                                        # cores per cell; 0: automatic
  slurm: {partition: cpu, time: "2:00:00", mem: 4G, cpus_per_task: 2, max_parallel: 20}`,
		Example: `  entrolab sweep -c entropy_methods_addition
  entrolab sweep -c my_sweep.yaml --set train.steps=100
  entrolab sweep -c my_sweep.yaml --executor slurm --dry-run
  entrolab sweep status runs/sweep-mine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSweep(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "config", "c", "entropy_methods_addition", "sweep file or bundled sweep name")
	f.StringArrayVar(&o.sets, "set", nil, "key=value for every run (repeatable)")
	f.BoolVar(&o.reportOnly, "report", false, "only rewrite the figures and tables from the runs on disk (as 'sweep report OUT')")
	f.StringVar(&o.executor, "executor", "local", "local, slurm or k8s")
	f.BoolVar(&o.dryRun, "dry-run", false, "slurm, k8s: write the manifest and the job scripts and print them; submit nothing")
	cmd.AddCommand(newSweepRunCellCmd(), newSweepStatusCmd(), newSweepReportCmd(), newSweepPrepareCmd())
	return cmd
}

func runSweep(cmd *cobra.Command, o *sweepOptions) error {
	switch o.executor {
	case "local", "slurm", "k8s":
	default:
		return fmt.Errorf("sweep: --executor %q, want local, slurm or k8s", o.executor)
	}
	if o.dryRun && o.executor == "local" {
		return errors.New("sweep: --dry-run is for --executor slurm or k8s (the local executor has nothing to print)")
	}
	c, err := sweep.Load(o.file, o.sets)
	if err != nil {
		return err
	}
	w, out := cmd.ErrOrStderr(), cmd.OutOrStdout()
	cells, _ := c.Cells()
	fmt.Fprintf(w, "sweep: %s: %d cells into %s\n", c.Name, len(cells), c.Out)
	if o.reportOnly {
		return sweep.Report(c.Out, out)
	}
	switch o.executor {
	case "slurm":
		p, err := sweep.PlanSlurm(c)
		if err != nil {
			return err
		}
		if o.dryRun {
			sweep.WriteSlurmPlan(out, p)
			return nil
		}
		s, err := sweep.SubmitSlurm(cmd.Context(), p)
		if err != nil {
			return err
		}
		if s.Prepare != "" {
			fmt.Fprintf(out, "sweep: submitted base-policy job %s\n", s.Prepare)
		}
		if s.Array != "" {
			fmt.Fprintf(out, "sweep: submitted array job %s: %d cells\n", s.Array, len(s.Cells))
		}
		fmt.Fprintf(out, "sweep: submitted report job %s; follow with: entrolab sweep status %s\n", s.Report, c.Out)
		return nil
	case "k8s":
		if !o.dryRun {
			return errors.New("sweep: --executor k8s writes manifests only: add --dry-run, then kubectl apply them (entrolab has no Kubernetes client)")
		}
		p, err := sweep.PlanK8s(c)
		if err != nil {
			return err
		}
		for i, f := range p.Files {
			fmt.Fprintf(out, "# ---- %s ----\n%s", f, []string{p.Prepare, p.Job, p.Report}[i])
		}
		fmt.Fprintf(out, "# ---- apply with ----\nkubectl apply -f %s && kubectl wait --for=condition=complete --timeout=-1s -f %s\nkubectl apply -f %s && kubectl wait --for=condition=complete --timeout=-1s -f %s\nkubectl apply -f %s\n",
			p.Files[0], p.Files[0], p.Files[1], p.Files[1], p.Files[2])
		return nil
	}
	announceBLAS(w)
	err = sweep.Execute(cmd.Context(), c, out)
	if err != nil && cmd.Context().Err() != nil {
		return errInterrupted
	}
	return err
}

func newSweepRunCellCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "run-cell SWEEP_DIR INDEX",
		Short: "Run one cell of a planned sweep (what each Slurm array task and Kubernetes pod runs)",
		Long: `run-cell runs cell INDEX of SWEEP_DIR/manifest.json in SWEEP_DIR/<cell name>.
It is idempotent: a finished cell is skipped, a started one resumes from its
last checkpoint. SIGTERM (scancel, preemption) or Ctrl-C saves a checkpoint of
the last finished step and exits 130, so that Slurm's --requeue, or running it
again, continues the cell. A cell whose run directory holds another config is
refused, and so is a missing base policy ('sweep prepare' makes them).`,
		Example: `  entrolab sweep run-cell runs/sweep-mine 3`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			idx, err := strconv.Atoi(args[1])
			if err != nil {
				return fmt.Errorf("sweep run-cell: INDEX %q is not an integer", args[1])
			}
			announceBLAS(cmd.ErrOrStderr())
			_, err = sweep.RunCell(cmd.Context(), args[0], idx, sweep.CellOptions{ID: id, Log: cmd.OutOrStdout()})
			if errors.Is(err, sweep.ErrInterrupted) {
				return errInterrupted
			}
			return err
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "refuse unless cell INDEX has this id (the batch script's view of the manifest)")
	return cmd
}

func newSweepStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status SWEEP_DIR",
		Short: "Show done / running / failed / interrupted / pending cells of a sweep",
		Long: `status reads each cell's state from the files in SWEEP_DIR (checkpoints,
metrics and cells/<id>.json) and, when squeue is on PATH and the sweep was
submitted to Slurm, from squeue.`,
		Example: `  entrolab sweep status runs/sweep-mine`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cells, err := sweep.Status(args[0])
			if err != nil {
				return err
			}
			sweep.WriteStatus(cmd.OutOrStdout(), args[0], cells)
			if line := sweep.SlurmJobs(args[0]); line != "" {
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			return nil
		},
	}
}

func newSweepReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "report SWEEP_DIR",
		Short:   "Gather the finished cells of a sweep into figures, summary.md, summary.csv and report.html",
		Example: `  entrolab sweep report runs/sweep-mine`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sweep.Report(args[0], cmd.OutOrStdout())
		},
	}
}

func newSweepPrepareCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "prepare SWEEP_DIR",
		Short:   "Make the missing base policies of a planned sweep (the job the Slurm array waits for)",
		Example: `  entrolab sweep prepare runs/sweep-mine`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			announceBLAS(cmd.ErrOrStderr())
			return sweep.Prepare(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
}
