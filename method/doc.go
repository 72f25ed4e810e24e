// Package method composes the algorithm families into methods: a method is
// a set of parts, each acting at named phases of the step (Sample,
// ShapeReward, Advantage, SelectTokens, Loss, Control), plus the one policy
// loss (a pg.Loss from clip or entropy). Build resolves the algorithm
// config once into a Recipe, which the trainer runs phase by phase without
// knowing any method by name.
//
// Parts here: kl.go (KL loss term, KL-in-reward per token), emrl.go (EM-RL
// reward), hapo.go (HAPO's adaptive sampling temperature), aepo.go (AEPO's
// pool, its advantage and its temperature controller; they come with
// loss.name aepo), highmask.go (the 80/20 token mask), entropyterm.go (the
// entropy regularizer and its coefficient controller: adaptive_bonus, aent).
// A new cross-cutting method is one file implementing its phases'
// interfaces and one line in Build; new maths goes in clip, entropy or
// advantage.
//
// Fed by: Config (the algorithm section of a run). Consumed by: trainer,
// which hands parts the step's Samples ([n] per completion token) and
// metrics map. Shapes: B samples, n tokens of a completion, V vocabulary.
package method
