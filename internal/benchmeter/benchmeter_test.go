package benchmeter

import (
	"runtime"
	"testing"
	"time"
)

func TestPeakRSSMB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	before := PeakRSSMB()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	after := PeakRSSMB()
	if !(before > 0) || after < before+60 {
		t.Fatalf("peak RSS %v MB before touching 64 MB, %v after", before, after)
	}
	runtime.KeepAlive(buf)
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		s    Steps
		want time.Duration
	}{{nil, 0}, {Steps{3}, 3}, {Steps{5, 1, 3}, 3}, {Steps{4, 1, 2, 100}, 3}} {
		if got := c.s.Median(); got != c.want {
			t.Errorf("%v: median %v, want %v", c.s, got, c.want)
		}
	}
}
