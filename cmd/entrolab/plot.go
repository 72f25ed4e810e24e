package main

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func newPlotCmd() *cobra.Command {
	var out, format string
	var smooth int
	cmd := &cobra.Command{
		Use:   "plot RUN_DIR...",
		Short: "Write entropy, reward, entropy-vs-reward, mechanism, clip-fraction, length and controller figures",
		Long: `plot reads each run's metrics.jsonl and writes one figure per metric family.
Several runs share each figure. Runs are identified by their resolved
config.yaml: only runs that differ in nothing but the seed are drawn as one
series (their mean, with a filled 95% bootstrap confidence band over the
seeds); every other config is its own series, labelled by the settings that
set it apart (grpo_addition optim.lr=0.001), in one colour in every figure. One
"series:" line per series names its runs and those settings.

Axes are labelled in words with units (from the metric table); each figure
says under its plot what its bands are and how its lines are smoothed:
--smooth N draws trailing rolling means over N steps (val/* and scatter
figures stay raw; the entropy-vs-reward fit is always on the measured
values). Without --smooth, the entropy-change figure smooths runs of 90 or
more steps over about 1/30 of them by itself and says so.

Figures go to RUN_DIR/plots for one run; for several, to a directory named
after them in their common parent (runs/compare-a+b/), or --out. Never into
the current directory.`,
		Example: `  entrolab plot runs/grpo_addition-s1
  entrolab plot runs/grpo_addition-s* runs/clip_cov_addition-s* --out figs --format svg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := out
			if dir == "" {
				dir = plotDir(args)
			}
			return writePlots(cmd.ErrOrStderr(), args, dir, format, smooth)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output directory (default RUN_DIR/plots for one run; for several, compare-<runs> beside them)")
	cmd.Flags().StringVar(&format, "format", "png", "png, svg or pdf")
	cmd.Flags().IntVar(&smooth, "smooth", 0, "trailing rolling mean over this many steps (0: raw), stated on each figure; val/* and scatter points stay raw")
	return cmd
}

// plotDir is where plot writes without --out: RUN/plots for one run; for
// several, <common parent>/compare-<base names joined by +> (shortened with a
// hash when long).
func plotDir(runs []string) string {
	if len(runs) == 1 {
		return filepath.Join(runs[0], "plots")
	}
	parent := filepath.Dir(filepath.Clean(runs[0]))
	var names []string
	for _, r := range runs {
		r = filepath.Clean(r)
		if filepath.Dir(r) != parent {
			parent = "runs"
		}
		names = append(names, filepath.Base(r))
	}
	if parent == "." {
		parent = "runs"
	}
	name := "compare-" + strings.Join(names, "+")
	if len(name) > 80 {
		h := sha256.Sum256([]byte(strings.Join(runs, "\x00")))
		name = fmt.Sprintf("%s-and-%d-more-%x", name[:60], len(names)-1, h[:4])
	}
	return filepath.Join(parent, name)
}
