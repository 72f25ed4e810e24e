package main

import (
	"context"
	"fmt"
	"io"

	"github.com/entrolab/entrolab/serve"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	root string
	addr string
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{root: "runs", addr: serve.DefaultAddr}
	cmd := &cobra.Command{
		Use:   "serve [RUNS_ROOT]",
		Short: "Watch runs in a browser: runs, live figures, comparisons, per-token entropies",
		Long: `serve starts a small read-only web server over a runs root (default ./runs):
a runs page (every run with its method, task, seed, status, steps and last
reward, entropy and accuracy), a page per run (the plot figures redrawn as
metrics.jsonl grows, the resolved config, the files), a compare page (runs or
a sweep overlaid, seeds of one configuration as a band, summary statistics)
and a samples page (each logged token coloured by its entropy).

It listens on ` + serve.DefaultAddr + ` (loopback only: nobody else can connect) unless
--addr says otherwise; on a non-loopback address anyone who can reach it can
read the runs. Nothing is ever written.`,
		Example: `  entrolab serve
  entrolab serve runs/sweep-entropy --addr 127.0.0.1:9000`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.root = args[0]
			}
			return runServe(cmd.Context(), cmd.ErrOrStderr(), o, nil)
		},
	}
	cmd.Flags().StringVar(&o.addr, "addr", o.addr, "listen address host:port (port 0: any free port)")
	return cmd
}

// runServe serves o.root until ctx ends, printing the URL; ready (when not
// nil) gets the URL too.
func runServe(ctx context.Context, w io.Writer, o *serveOptions, ready func(string)) error {
	s, err := serve.New(o.root)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.ListenAndServe(ctx, o.addr, func(url string) {
		fmt.Fprintf(w, "serve: %s at %s (Ctrl-C to stop)\n", s.Dir(), url)
		if !serve.IsLoopback(o.addr) {
			fmt.Fprintf(w, "serve: warning: %s is not a loopback address; anyone who can reach it can read these runs\n", o.addr)
		}
		if ready != nil {
			ready(url)
		}
	})
}
