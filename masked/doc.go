// Package masked holds the token-matrix maths that the policy losses (clip)
// and the entropy regularizers (entropy) share, written once: verl's loss
// aggregation (Agg, four modes), masked means, k-th-smallest selection and
// HAPO's entropy normalisation.
//
// It is fed plain [B][T] float64 matrices with a 0/1 response mask (B
// samples, T positions; rows may be ragged) and knows nothing of the
// families above it. Specs: ADVANTAGE_AND_CLIPPING.md §2 (aggregation,
// masked reductions) and §10.1 (HAPO normalisation).
package masked
