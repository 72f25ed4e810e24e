// Package stats is the uncertainty behind every comparison entrolab prints:
// point estimates over seeds with bootstrap confidence intervals, differences
// against a baseline (paired by seed where the groups share their seeds) and
// the probability of improvement, after Agarwal et al. (2021), "Deep
// Reinforcement Learning at the Edge of the Statistical Precipice" (the
// rliable library is the reference for the definitions).
//
// What feeds it: one number per run (a final reward, a held-out pass@k, an
// area under the entropy curve …), grouped by the caller into groups of runs
// that differ only by seed. What consumes it: plots' sweep summaries
// (summary.md/csv, report.html) and the pass@k-curve comparison.
//
// Everything is plain float64 work with no dependency beyond the standard
// library. Non-finite values (a run without the metric) are left out and the
// count that remains is reported with each interval. Every bootstrap is
// seeded, so the same inputs give the same report.
//
// No shape letters: samples are indexed by run (seed).
package stats
