package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Execute runs the sweep with the local executor: it writes the manifest,
// makes the missing base policies, runs the cells in-process, c.Parallel
// at a time (each with the manifest's workers), then writes the report.
// log receives one line per cell start and end.
func Execute(ctx context.Context, c Config, log io.Writer) error {
	m, err := WriteManifest(c, c.WorkersFor("local"))
	if err != nil {
		return err
	}
	lw := &lockedWriter{w: log}
	if err := Prepare(ctx, c.Out, lw); err != nil {
		return err
	}
	sem := make(chan struct{}, c.Parallel)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := range m.Cells {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := RunCell(ctx, c.Out, i, CellOptions{ID: m.Cells[i].ID, Log: lw})
			if err != nil && !errors.Is(err, ErrInterrupted) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("sweep: %d of %d cells failed: %w", len(errs), len(m.Cells), errors.Join(errs...))
	}
	return Report(c.Out, log)
}

// lockedWriter serialises lines written by cells running in parallel.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
