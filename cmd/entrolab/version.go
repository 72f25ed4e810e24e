package main

import (
	"fmt"
	"runtime"

	"github.com/entrolab/entrolab/internal/oblas"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, Go version and BLAS in use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "entrolab %s (%s, %s/%s)\nblas: %s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, oblas.Name())
			return nil
		},
	}
}
