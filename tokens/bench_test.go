package tokens

import (
	"testing"
)

const benchText = "3,7,25,91>64:(91-25)*7/3+7" // 26 characters

func BenchmarkEncode(b *testing.B) {
	tk := New()
	dst := make([]int, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = tk.AppendEncode(dst[:0], benchText)
	}
	b.ReportMetric(float64(b.N*len(benchText))/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeLibrary is the library's pipeline on the same text, the
// reason Encode uses its own table.
func BenchmarkEncodeLibrary(b *testing.B) {
	tk := New()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = tk.libEncode(benchText)
	}
	b.ReportMetric(float64(b.N*len(benchText))/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkDecode(b *testing.B) {
	tk := New()
	ids, _ := tk.Encode(benchText)
	b.ReportAllocs()
	for b.Loop() {
		_ = tk.Decode(ids)
	}
	b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "tokens/s")
}
