package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlainOutput(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "sft", 10)
	b.Update(1, "loss=1")
	b.Update(2, "loss=0.5") // within the interval: not printed
	b.Update(10, "loss=0.1")
	b.Done()
	out := buf.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "sft 1/10 loss=1") || !strings.Contains(out, "sft 10/10 loss=0.1") {
		t.Fatalf("output:\n%s", out)
	}
}

// TestAboveNeverSharesTheBarsLine: on a terminal, a line printed while the
// bar is drawn clears the bar first and redraws it after.
func TestAboveNeverSharesTheBarsLine(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "train", 10)
	b.tty, b.every = true, 0
	b.Update(3, "reward=0.1")
	b.Above(&buf).Write([]byte("step=3 reward=0.1\n"))
	out := buf.String()
	// the text starts on a cleared line: after "\r<spaces>\r", never right after the bar
	i := strings.Index(out, "step=3")
	if i < 0 || !strings.HasSuffix(strings.TrimRight(out[:i], "\r"), " ") || !strings.HasSuffix(out[:i], "\r") {
		t.Fatalf("text not on a cleared line: %q", out)
	}
	if !strings.HasSuffix(out, "3/10 reward=0.1") {
		t.Fatalf("bar not redrawn after the text: %q", out)
	}
}
