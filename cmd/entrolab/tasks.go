package main

import (
	"fmt"
	"math/rand/v2"
	"text/tabwriter"

	"github.com/entrolab/entrolab/reward"
	"github.com/spf13/cobra"
)

func newTasksCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tasks",
		Short: "List the toy tasks with an example prompt and answer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tPROMPT\tANSWER")
			for _, name := range reward.Names() {
				cfg := reward.DefaultConfig()
				cfg.Name = name
				t, err := reward.New(cfg)
				if err != nil {
					return err
				}
				p := t.Generate(rand.New(rand.NewPCG(1, 1)), reward.Train)
				fmt.Fprintf(tw, "%s\t%s\t%s\n", name, p.Prompt, p.Answer)
			}
			fmt.Fprintln(tw, "dataset\t(your JSONL: task.train, task.test)\t(README: Bring your own task; examples/reverse)")
			return tw.Flush()
		},
	}
}
