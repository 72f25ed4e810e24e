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
