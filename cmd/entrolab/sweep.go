package main

import (
	"fmt"
	"strings"

	"github.com/entrolab/entrolab/configs"
	"github.com/entrolab/entrolab/sweep"
	"github.com/spf13/cobra"
)

func newSweepCmd() *cobra.Command {
	var file string
	var sets []string
	var reportOnly bool
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run a grid of experiments × seeds × overrides, then comparison figures, tables and report.html",
		Long: `sweep runs every cell of a sweep file's grid in its own run directory under the
sweep's out directory (default runs/sweep-<name>), then writes comparison figures
(seeds of one experiment as mean with a min–max band), summary.md, summary.csv
(final reward, final entropy, fitted a and b of R = −a·e^H + b, steps per second)
and a self-contained report.html. Run it again after an interruption: finished
runs are skipped and unfinished ones resume from their last checkpoint.

Bundled sweeps: ` + strings.Join(configs.Sweeps(), ", ") + `. A sweep file:

  name: mine
  experiments: [grpo_addition, clip_cov_addition]   # bundled names or YAML files
  seeds: [1, 2, 3]
  set: ["train.steps=200"]                          # for every run
  overrides: [["optim.lr=1e-4"], ["optim.lr=3e-4"]] # optional grid axis
  parallel: 1                                       # runs at a time`,
		Example: `  entrolab sweep -c entropy_methods_addition
  entrolab sweep -c my_sweep.yaml --set train.steps=100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sweep.Load(file, sets)
			if err != nil {
				return err
			}
			announceBLAS(cmd.ErrOrStderr())
			fmt.Fprintf(cmd.ErrOrStderr(), "sweep: %s: %d runs into %s\n", c.Name, len(c.Runs()), c.Out)
			if reportOnly {
				return sweep.Report(c, cmd.OutOrStdout())
			}
			err = sweep.Execute(cmd.Context(), c, cmd.OutOrStdout())
			if err != nil && cmd.Context().Err() != nil {
				return errInterrupted
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "entropy_methods_addition", "sweep file or bundled sweep name")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "key=value for every run (repeatable)")
	cmd.Flags().BoolVar(&reportOnly, "report", false, "only rewrite the figures and tables from the runs on disk")
	return cmd
}
