package main

import (
	"path/filepath"

	"github.com/spf13/cobra"
)

func newPlotCmd() *cobra.Command {
	var out, format string
	var smooth int
	cmd := &cobra.Command{
		Use:   "plot RUN_DIR...",
		Short: "Write entropy, reward, entropy-vs-reward, mechanism, clip-fraction, length and controller figures",
		Long: `plot reads each run's metrics.jsonl and writes one figure per metric family.
Several runs share each figure (one line each); runs that differ only by seed
are drawn as their mean with a min–max band.`,
		Example: `  entrolab plot runs/grpo_addition-s1
  entrolab plot runs/grpo_addition-s* runs/clip_cov_addition-s* --out figs --format svg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := out
			if dir == "" {
				dir = filepath.Join(args[0], "plots")
				if len(args) > 1 {
					dir = "plots"
				}
			}
			return writePlots(cmd.ErrOrStderr(), args, dir, format, smooth)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory (default RUN_DIR/plots for one run, ./plots for several)")
	cmd.Flags().StringVar(&format, "format", "png", "png, svg or pdf")
	cmd.Flags().IntVar(&smooth, "smooth", 0, "moving average over this many steps (0: raw); val/* stay raw")
	return cmd
}
