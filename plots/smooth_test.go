package plots

import (
	"math"
	"testing"
)

func TestSmooth(t *testing.T) {
	steps := []int{1, 2, 3, 4, 5, 6}
	r := &Run{Series: map[string]*Series{
		"actor/entropy": {Key: "actor/entropy", Steps: steps, Values: []float64{1, 3, math.NaN(), 5, 7, 9}},
		"val/accuracy":  {Key: "val/accuracy", Steps: steps, Values: []float64{1, 2, 3, 4, 5, 6}},
	}}
	s := Smooth(r, 2)
	want := []float64{1, 2, 3, 5, 6, 8} // window 2, NaN skipped
	for i, v := range s.Series["actor/entropy"].Values {
		if math.Abs(v-want[i]) > 1e-12 {
			t.Fatalf("smoothed[%d] = %v, want %v", i, v, want[i])
		}
	}
	if s.Series["val/accuracy"] != r.Series["val/accuracy"] {
		t.Fatal("val/* series were smoothed")
	}
	if r.Series["actor/entropy"].Values[1] != 3 {
		t.Fatal("Smooth changed its input")
	}
	if Smooth(r, 1) != r {
		t.Fatal("window 1 is not the identity")
	}
}
