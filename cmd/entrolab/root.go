package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/entrolab/entrolab/internal/oblas"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// errInterrupted marks a run stopped by Ctrl-C after saving its state.
var errInterrupted = errors.New("interrupted")

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "entrolab",
		Short: "RL fine-tuning of small language-model policies with entropy control",
		Long: `entrolab trains small GPT-style policies on toy math tasks with GRPO-style RL
and the published entropy-control methods, and shows why entropy collapses and
how each remedy changes that.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newTasksCmd(),
		newSFTCmd(),
		newEvalCmd(),
		newTrainCmd(),
		newConfigsCmd(),
		newPlotCmd(),
		newSweepCmd(),
		newServeCmd(),
		newExportCmd(),
		newScoreCmd(),
	)
	return root
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "entrolab: interrupted; state saved")
		return 130
	default:
		fmt.Fprintln(os.Stderr, "entrolab:", err)
		return 1
	}
}

// announceBLAS prints the one line saying which BLAS computes the matmuls.
func announceBLAS(w io.Writer) {
	fmt.Fprintf(w, "blas: %s\n", oblas.Name())
}
