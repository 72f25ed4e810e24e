// Package pg is the one policy-loss interface: Loss, the Input every loss
// gets, its Result, the Needs a loss declares for the optional inputs, and
// the per-token maths that every PPO-shaped loss shares (PPOToken).
//
// Implementations live in clip (PPO and its variants, GSPO, CISPO, SAPO,
// entropy-shaped advantages, KL losses) and entropy (STEER, AEPO's actor
// loss); the trainer calls only this interface. Shapes: B samples, T token
// positions, all [B][T], rows possibly ragged.
package pg
