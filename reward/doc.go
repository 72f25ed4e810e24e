// Package reward holds entrolab's toy math tasks with verifiable rewards:
// each task generates problems (a short prompt and one canonical answer)
// and scores a policy's completion in [0, 1] by checking it, with no learned
// reward model.
//
// Tasks (registry names):
//
//	addition        "123+456="      -> "579"       a + b, both operands with exactly n digits
//	multiplication  "47*8="         -> "376"       a * b, a and b with up to m and k digits
//	countdown       "3,7,25>29:"    -> "25+7-3"    reach the target from the numbers
//	                                               with + - * / and parentheses,
//	                                               each number used at most once
//
// Countdown follows TinyZero (Pan et al. 2025, github.com/Jiayi-Pan/TinyZero,
// verl/utils/reward_score/countdown.py): a well-formed but wrong answer earns
// the format reward (0.1), a correct one the correct reward (1.0), anything
// else 0. The same two weights apply to every task:
//
//	reward = correct_reward  if the answer is correct
//	       = format_reward   if it is well formed but wrong
//	       = 0               otherwise
//
// Completions are read up to the first "<eos>" (the tokenizer's name for
// end-of-sequence, so a decoded completion may carry it), with surrounding
// whitespace ignored. Problems are split into train and held-out by a hash
// of the problem's canonical key (sorted operands and target), so a problem
// and its commuted twin always fall on the same side and no held-out problem
// is ever drawn for training.
//
// The user's own task ("dataset", dataset.go) reads problems from two JSONL
// files, validated line by line before any work and streamed (never read
// whole), and scores them with a built-in verifier (verify.go: exact,
// numeric, choice, regex, expression) under the same two weights. A reward
// command (command.go) scores whole batches in an external process that
// speaks JSON lines; ScoreAll is the one call that scores a batch with
// either.
//
// Feeds: the trainer draws problems (Generate) with its own *rand.Rand and
// scores decoded completions (Score); package tokens encodes every prompt
// and answer (its tests check this). Shapes: none; one problem and one
// completion string at a time. Prompt and answer alphabet: the digits,
// + - * / ( ) = , : > and the space.
package reward
