// Package regress holds the regression tests on toy math: the entropy
// phenomena of the papers, pinned with fixed seeds on the committed base
// policy (policy/policytest). They are what a researcher runs after changing
// an algorithm:
//
//	go test ./regress/            # all of them, a few minutes on 2 cores
//	go test ./regress/ -run GRPO  # one
//	go test ./regress/ -run Trajectory -update   # re-pin testdata/trajectory.golden
//
// See the README's "Regression tests" section for what each guards and the
// numbers measured.
package regress
