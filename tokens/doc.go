// Package tokens is entrolab's character-level tokenizer for the toy math
// tasks of package reward. It wraps a WordLevel tokenizer of
// github.com/sugarme/tokenizer and stores it as a HuggingFace-format
// tokenizer.json, so the vocabulary travels with a run directory and other
// tools can read it.
//
// Every token is one character: each digit 0-9 is its own token (digits are
// never merged), then the operators + - * /, parentheses, = , : > and the
// space, plus four special tokens that are never produced from text:
//
//	id  token    id  token    id  token
//	 0  <pad>     9  5        18  (
//	 1  <bos>    10  6        19  )
//	 2  <eos>    11  7        20  =
//	 3  <unk>    12  8        21  ,
//	 4  0        13  9        22  :
//	 5  1        14  +        23  >
//	 6  2        15  -        24  (space)
//	 7  3        16  *
//	 8  4        17  /
//
// V = 25. The file's pre-tokenizer is a Split on the regex [\s\S] with the
// Isolated behaviour (one piece per character); the model is WordLevel with
// unk_token "<unk>"; normalizer and post-processor are null and the decoder is
// Fuse (tokens are concatenated).
//
// Feeds: the rollout sampler and trainer (prompt ids in, completion ids out,
// V for the policy's output layer); prompts and answers come from package
// reward, whose texts are all encodable (checked by this package's tests).
// Shapes: V is the vocabulary size; sequences are plain []int of token ids.
//
// Encode runs on a rune -> id table built from the library's vocabulary (the
// library's own pipeline allocates per piece and is far slower); tests check
// it gives exactly the library's ids. Load also checks this once, encoding
// every vocabulary character through the library, so a file whose
// pre-tokenizer does not split per character is refused.
//
// Load validates the file against the subset of the format this package
// serves (WordLevel, a per-character Split, specials), then builds the
// library tokenizer with the library's own loader, pretrained.FromReader.
// The file carries a TemplateProcessing post-processor putting <bos> before
// a sequence, as EncodePrompt does, so Hugging Face's encode(text) gives the
// trainer's ids (files without one, from before, still get <bos>).
//
// Any other tokenizer.json (BPE, byte-level BPE as GPT-2's, WordLevel over
// words) is run by this package's own pipeline (hf.go, pipeline.go):
// normalizer, pre-tokenizer, model, added tokens, post-processor and decoder
// as the Hugging Face tokenizers library runs them, checked against ids that
// library produced (testdata/hf). FromFiles adds tokenizer_config.json,
// special_tokens_map.json and generation_config.json: which token ends a
// completion and which pads; HFFiles writes them.
package tokens
