// Package policy is the language-model policy: a small GPT-2-style
// decoder-only transformer trained through gorgonia, its AdamW optimizer, its
// checkpoints (safetensors + JSON) and a forward-only path that returns
// per-token log-probs and entropies.
//
// Fed by: token ids (the tokenizer's), and per micro-batch an Objective — a
// plain function of the head's outputs (log-probs of the taken tokens and/or
// the logits) returning the loss, its gradient and metrics. The RL algorithm
// packages (clip, entropy) are such functions; they never see gorgonia.
// Consumed by: the rollout engine (which reads the same weight tensors), the
// trainer, and the SFT command.
//
// Architecture: token + learned position embeddings; L pre-LayerNorm blocks of
// causal multi-head self-attention and a tanh-GELU MLP (4x); final LayerNorm;
// LM head tied to the token embedding (untied as an option); biases on every
// linear layer. Weights are float32.
//
// Training graph: built once per (batch, length) shape out of custom gorgonia
// ops (embedding, LayerNorm, linear, causal attention, GELU, residual add, LM
// head, objective head), each with its own backward op and a finite-difference
// check in the tests. Each op owns its output buffers, so a step allocates
// almost nothing. A micro-batch is split row-wise over R replicas of the graph
// (one per core), which run concurrently over the same weights; their
// objective heads meet at a barrier so the objective sees the whole
// micro-batch once, and their parameter gradients are summed.
//
// Hugging Face (hf.go): every checkpoint's config.json is GPT-2's, so a
// checkpoint directory is also a transformers model directory; ImportHF reads
// a save_pretrained GPT-2 directory (LoadCheckpoint does when there is no
// manifest.json), honouring or refusing each config.json key by name, and
// ExportHF writes one.
//
// Shape letters: B sequences, T positions, D model width, H heads, V vocabulary,
// N = B*T rows.
package policy
