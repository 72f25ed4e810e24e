package configs

import (
	"strings"
	"testing"
)

// TestEvalTemperatureReadByEitherK: eval.temperature is read when the
// evaluations in between (eval.k) or the base's and last one
// (eval.final_k) sample, and refused, naming both, when neither does.
func TestEvalTemperatureReadByEitherK(t *testing.T) {
	for _, sets := range [][]string{
		{"eval.k=0", "eval.temperature=0.5"},
		{"eval.final_k=0", "eval.temperature=0.5"},
	} {
		if _, err := LoadTrain("grpo_addition", nil, sets); err != nil {
			t.Errorf("%v: %v", sets, err)
		}
	}
	_, err := LoadTrain("grpo_addition", nil, []string{"eval.k=0", "eval.final_k=0", "eval.temperature=0.5"})
	if err == nil || !strings.Contains(err.Error(), "eval.temperature") || !strings.Contains(err.Error(), "eval.k") || !strings.Contains(err.Error(), "eval.final_k") {
		t.Errorf("eval.temperature with no sampling evaluation: %v, want a refusal naming eval.k and eval.final_k", err)
	}
}
