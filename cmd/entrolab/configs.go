package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/entrolab/entrolab/configs"
	"github.com/spf13/cobra"
)

func newConfigsCmd() *cobra.Command {
	var show string
	cmd := &cobra.Command{
		Use:   "configs",
		Short: "List the bundled experiments (or print one with --show NAME)",
		Example: `  entrolab configs
  entrolab configs --show clip_cov_addition > my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if show != "" {
				b, err := configs.Experiment(show)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EXPERIMENT\tDESCRIPTION")
			for _, n := range configs.Experiments() {
				fmt.Fprintf(tw, "%s\t%s\n", n, configs.Describe(n))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&show, "show", "", "print this experiment's YAML")
	return cmd
}
