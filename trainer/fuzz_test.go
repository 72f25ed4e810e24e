package trainer

import (
	"bytes"
	"testing"

	"github.com/entrolab/entrolab/internal/fuzzcount"
)

// FuzzRepairMetrics: whatever metrics.jsonl holds, the repair keeps exactly
// steps 1..k (k <= n) in order, after at most one step-0 line (the base's
// evaluation) when the input starts with one, each kept line taken
// unchanged from the input, and loses no line (kept + rejected = input).
func FuzzRepairMetrics(f *testing.F) {
	for _, s := range []string{
		`{"step":1,"data":{"a":1}}` + "\n" + `{"step":2,"data":{}}` + "\n",
		`{"data":{"a":2}}` + "\n" + `{"step":1,"data":{}}` + "\n",
		`{"step":1,"data":{}}` + "\n" + `{"step":1,"data":{}}` + "\n",
		`{"step":-1,"data":{}}` + "\n",
		`{"step":1e15,"data":{}}` + "\n",
		`{"step":2.5,"data":{}}` + "\n",
		`{"step":1,"data":{"x":null}}` + "\n" + `{"step":2,"da`,
		`{"step":1,"data":{}} {"step":2,"data":{}}` + "\n",
		"\n\n\n",
	} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		defer fuzzcount.Timer(t.Fatalf)()
		kept, rejected := RepairMetrics(b, n)
		k, i := 0, 0
		splitLines(kept, func(line []byte) {
			i++
			s, ok := lineStep(line)
			if ok && s == 0 && i == 1 {
				return // the base's step-0 line, first in the input
			}
			k++
			if !ok || s != k {
				t.Fatalf("kept line %d is step %d (ok %v): %q", k, s, ok, line)
			}
			if !bytes.Contains(b, line) {
				t.Fatalf("kept line not in the input: %q", line)
			}
		})
		if k > max(n, 0) {
			t.Fatalf("kept %d steps, n = %d", k, n)
		}
		if ContiguousSteps(kept) != k {
			t.Fatalf("ContiguousSteps(kept) = %d, want %d", ContiguousSteps(kept), k)
		}
		in := bytes.Count(b, []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			in++
		}
		if got := bytes.Count(kept, []byte("\n")) + bytes.Count(rejected, []byte("\n")); got != in {
			t.Fatalf("%d lines in, %d out", in, got)
		}
		fuzzcount.Record(len(rejected) == 0)
	})
}
