// Package progress draws a one-line progress bar on a terminal, or prints a
// plain line every so often when the output is not a terminal (CI logs).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar is a progress bar over total steps.
type Bar struct {
	w       io.Writer
	total   int
	label   string
	tty     bool
	start   time.Time
	last    time.Time
	every   time.Duration
	lastLen int
	drawn   string // the bar's line as last drawn on a terminal; "" when cleared
}

// New returns a bar writing to w; it redraws in place when w is a terminal.
func New(w io.Writer, label string, total int) *Bar {
	b := &Bar{w: w, total: total, label: label, start: time.Now(), every: 10 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.every = true, 100*time.Millisecond
		}
	}
	return b
}

// Update shows step done of total with a status text (key=value pairs).
func (b *Bar) Update(done int, status string) {
	now := time.Now()
	if done < b.total && now.Sub(b.last) < b.every {
		return
	}
	b.last = now
	el := now.Sub(b.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := ""
	if el < 0.5 {
		rate = 0 // too early for a meaningful rate
	}
	if rate > 0 && done < b.total {
		eta = fmt.Sprintf(" eta %s", (time.Duration(float64(b.total-done)/rate) * time.Second).Round(time.Second))
	}
	speed := ""
	if rate > 0 {
		speed = fmt.Sprintf(" (%.1f it/s%s)", rate, eta)
	}
	if !b.tty {
		fmt.Fprintf(b.w, "%s %d/%d %s%s\n", b.label, done, b.total, status, speed)
		return
	}
	const width = 24
	fill := width * done / max(b.total, 1)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("\r%s [%s] %d/%d %s%s", b.label, bar, done, b.total, status, speed)
	pad := b.lastLen - len(line)
	b.lastLen = len(line)
	if pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	b.drawn = line
	fmt.Fprint(b.w, line)
}

// Done ends the bar's line.
func (b *Bar) Done() {
	if b.tty {
		fmt.Fprintln(b.w)
		b.drawn, b.lastLen = "", 0
	}
}

// Above returns a writer for whole lines printed while the bar is shown (to
// w, which may be another stream on the same terminal): on a terminal the
// bar's line is cleared first and redrawn below the text, so text and bar
// never share a line.
func (b *Bar) Above(w io.Writer) io.Writer { return above{b, w} }

type above struct {
	b *Bar
	w io.Writer
}

func (a above) Write(p []byte) (int, error) {
	b := a.b
	if !b.tty || b.drawn == "" {
		return a.w.Write(p)
	}
	fmt.Fprint(b.w, "\r"+strings.Repeat(" ", b.lastLen)+"\r")
	n, err := a.w.Write(p)
	fmt.Fprint(b.w, b.drawn)
	return n, err
}
