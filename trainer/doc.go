// Package trainer runs one RL step as a recipe over phases, knowing no
// method by name:
//
//	sample        rollout, then the method's Sample parts (a temperature, a pool)
//	shape rewards verifier scores, then the ShapeReward parts (a reference penalty, a rewritten reward)
//	estimate      the advantage estimator, then the Advantage parts
//	select tokens the SelectTokens parts narrow the loss mask (say, to the highest-entropy tokens)
//	update        ppo_epochs × mini-batches: the one policy loss (package pg)
//	              plus the Loss parts' terms (KL loss, entropy regularizer) →
//	              forward/backward through the policy → clip → AdamW
//	diagnose      the entropy-mechanism check (predicted vs measured change)
//	control       the Control parts (coefficients, temperatures), whose
//	              state goes into checkpoints
//	record        metrics (names from package metric) to the observers
//
// Which parts run is package method's Recipe, built once from the
// algorithm config; a new method is a file in method/ (and, for new maths,
// a loss in clip or a regularizer in entropy), never a change here.
//
// Fed by: a Config (experiment.Config, composed of each package's section;
// configs loads it), a base checkpoint (made by sft when missing).
// Produces: a run directory (RunDir: Open, EvaluateBase, Checkpoint, exact
// resume) with metrics.jsonl (verl's file-logger format), samples.jsonl and
// checkpoints/. Logging, metrics, checkpoints and evaluation attach as
// Observers; the lifecycle around a run (lock, config.yaml, status.json,
// interrupts) is package runner's.
//
// Shape letters: B sequences in a mini-batch, T completion tokens, V
// vocabulary.
package trainer
