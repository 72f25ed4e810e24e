// Package policytest supplies fixed policies for tests, so that rollout,
// trainer and regression tests never train first.
//
//   - BaseDir is a committed base checkpoint on 3-digit addition (made by
//     `entrolab sft --task addition`, see testdata/base-addition/sft.json
//     for its settings and held-out accuracy).
//   - CountdownBaseDir is the same on countdown (`entrolab sft --task
//     countdown`; the base the bundled entropy_study sweep makes and uses).
//   - Tiny is a seeded random policy of a few thousand weights.
package policytest

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/entrolab/entrolab/policy"
)

// BaseDir is the committed base checkpoint on addition.
func BaseDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "base-addition")
}

// CountdownBaseDir is the committed base checkpoint on countdown.
func CountdownBaseDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "base-countdown")
}

// Base loads the committed base checkpoint.
func Base(t testing.TB) *policy.Checkpoint {
	t.Helper()
	ck, err := policy.LoadCheckpoint(BaseDir())
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// TinyConfig is a 2-layer, 16-wide policy over vocab tokens.
func TinyConfig(vocab int) policy.Config {
	return policy.Config{Vocab: vocab, DModel: 16, NLayers: 2, NHeads: 2, MaxSeqLen: 24, InitStd: 0.5, Seed: 3}
}

// Tiny is a seeded random policy of TinyConfig.
func Tiny(t testing.TB, vocab int) *policy.Model {
	t.Helper()
	m, err := policy.New(TinyConfig(vocab))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
