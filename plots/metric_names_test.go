package plots

import (
	"testing"

	"github.com/entrolab/entrolab/metric"
)

// TestFigureKeysAreMetrics checks every metric key the figures read (and
// so title and label) against the metric table.
func TestFigureKeysAreMetrics(t *testing.T) {
	for _, k := range []string{KeyEntropy, KeyReward, KeyValAccuracy, KeyPredictedDelta, KeyActualDelta,
		KeyClipfrac, KeyClipfracLower, KeyRespLenMean, KeyRespLenMin, KeyRespLenMax, KeyStepTime} {
		if _, ok := metric.Lookup(k); !ok {
			t.Errorf("plots reads %s, which the metric table lacks", k)
		}
	}
	if _, ok := metric.Lookup(ControllerPrefix + "entropy_coef"); !ok {
		t.Errorf("the metric table has no %s key", ControllerPrefix)
	}
}
