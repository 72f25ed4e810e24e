package tokens

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sugarme/tokenizer"
)

// Names of the special tokens. They are never produced by Encode (their
// characters are not in the vocabulary); callers add them by id.
const (
	PadToken = "<pad>"
	BOSToken = "<bos>"
	EOSToken = "<eos>"
	UnkToken = "<unk>"
)

// Alphabet lists the plain (one-character) tokens of the built-in vocabulary
// in id order; their ids start at 4, after <pad> <bos> <eos> <unk>.
const Alphabet = "0123456789+-*/()=,:> "

// ErrUnknownChar is wrapped by the errors Encode returns for a character
// outside the vocabulary or for invalid UTF-8.
var ErrUnknownChar = errors.New("tokens: character not in the vocabulary")

// CharError reports a character of the input that has no token.
type CharError struct {
	Char    rune // utf8.RuneError for an invalid byte
	Byte    byte // the offending byte when Invalid
	Offset  int  // byte offset in the input
	Invalid bool // invalid UTF-8 rather than an unknown character
}

func (e *CharError) Error() string {
	if e.Invalid {
		return fmt.Sprintf("tokens: invalid UTF-8 byte 0x%02x at byte %d", e.Byte, e.Offset)
	}
	return fmt.Sprintf("tokens: character %q (%U) at byte %d is not in the vocabulary", string(e.Char), e.Char, e.Offset)
}

// Unwrap lets errors.Is(err, ErrUnknownChar) match.
func (e *CharError) Unwrap() error { return ErrUnknownChar }

// Tokenizer is a character-level WordLevel tokenizer: one token per
// character, plus the specials <pad>, <bos>, <eos> and <unk>. It is safe for
// concurrent use (nothing is mutated after construction).
type Tokenizer struct {
	lib     *tokenizer.Tokenizer // the library's tokenizer, built from tokenizer.json
	toks    []string             // [V] id -> token text
	special []bool               // [V] true for <pad> <bos> <eos> <unk>
	ascii   [utf8.RuneSelf]int32 // ASCII rune -> id, -1 when absent
	other   map[rune]int         // non-ASCII rune -> id
	ids     map[string]int       // token text -> id
	pad     int
	bos     int
	eos     int
	unk     int
	gen     *pipeline // non-nil: a general tokenizer.json (hf.go), not the character table
	prompt  []int     // ids a prompt starts with (the post-processor's, <bos> for legacy files)
}

// New returns the built-in vocabulary (see the package comment), built by
// the library from the same tokenizer.json that Save writes.
func New() *Tokenizer {
	toks := make([]string, 0, 4+len(Alphabet))
	toks = append(toks, PadToken, BOSToken, EOSToken, UnkToken)
	for _, r := range Alphabet {
		toks = append(toks, string(r))
	}
	data, err := marshalFile(toks, []string{PadToken, BOSToken, EOSToken, UnkToken}, UnkToken)
	if err != nil {
		panic("tokens: built-in vocabulary: " + err.Error()) // programmer mistake
	}
	t, err := parse(data, SpecialNames{})
	if err != nil {
		panic("tokens: built-in vocabulary: " + err.Error()) // programmer mistake
	}
	return t
}

// Library returns the underlying github.com/sugarme/tokenizer tokenizer
// (for its offsets, batch encoding and the like); its ids are Encode's. It
// is nil for a general (BPE, byte-level, WordLevel over words) tokenizer,
// which this package runs itself.
func (t *Tokenizer) Library() *tokenizer.Tokenizer { return t.lib }

// VocabSize returns V, the number of token ids (ids are 0..V-1).
func (t *Tokenizer) VocabSize() int { return len(t.toks) }

// PadID returns the id of <pad> (0 in the built-in vocabulary).
func (t *Tokenizer) PadID() int { return t.pad }

// BOSID returns the id of <bos>.
func (t *Tokenizer) BOSID() int { return t.bos }

// EOSID returns the id of <eos>.
func (t *Tokenizer) EOSID() int { return t.eos }

// UnkID returns the id of <unk>; Encode never produces it.
func (t *Tokenizer) UnkID() int { return t.unk }

// ID returns the id of a token ("7", "+", "<eos>") and whether it exists.
func (t *Tokenizer) ID(tok string) (int, bool) {
	id, ok := t.ids[tok]
	return id, ok
}

// Token returns the text of id ("<eos>" for a special) and whether id is in
// the vocabulary.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.toks) {
		return "", false
	}
	return t.toks[id], true
}

// IsSpecial reports whether id is one of the special tokens.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// Tokens returns the vocabulary in id order (a copy).
func (t *Tokenizer) Tokens() []string { return append([]string(nil), t.toks...) }

// Encode returns one id per character of s. A character outside the
// vocabulary (including the '<' of a special token's name: specials are
// added by id, never parsed from text) gives a *CharError wrapping
// ErrUnknownChar that names it and its byte offset, e.g.
//
//	tokens: character "?" (U+003F) at byte 3 is not in the vocabulary
func (t *Tokenizer) Encode(s string) ([]int, error) {
	return t.AppendEncode(make([]int, 0, len(s)), s)
}

// AppendEncode appends the ids of s to dst and returns the extended slice;
// it allocates only when dst lacks capacity. On error dst is returned
// unextended.
func (t *Tokenizer) AppendEncode(dst []int, s string) ([]int, error) {
	if t.gen != nil {
		return t.gen.encode(dst, s)
	}
	n := len(dst)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			id := t.ascii[c]
			if id < 0 {
				return dst[:n], &CharError{Char: rune(c), Offset: i}
			}
			dst = append(dst, int(id))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst[:n], &CharError{Char: r, Byte: c, Offset: i, Invalid: true}
		}
		id, ok := t.other[r]
		if !ok {
			return dst[:n], &CharError{Char: r, Offset: i}
		}
		dst = append(dst, id)
		i += size
	}
	return dst, nil
}

// Decode concatenates the tokens of ids. Special tokens are shown by name
// ("<eos>", "<pad>"), so a completion with a stray special never reads as a
// clean answer; an id outside 0..V-1 is shown as "<unk>". Decode never
// fails; for any text s that Encode accepts, Decode(Encode(s)) == s.
func (t *Tokenizer) Decode(ids []int) string {
	if t.gen != nil {
		toks := make([]string, len(ids))
		for i, id := range ids {
			if id < 0 || id >= len(t.toks) {
				id = t.unk
			}
			toks[i] = t.toks[id]
		}
		return t.gen.decode(toks)
	}
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.toks) {
			b.WriteString(t.toks[t.unk])
			continue
		}
		b.WriteString(t.toks[id])
	}
	return b.String()
}

// DecodeUntilEOS decodes ids up to, not including, the first <eos>; what
// follows it (padding, further samples) is dropped. Without an <eos> it is
// Decode(ids).
func (t *Tokenizer) DecodeUntilEOS(ids []int) string {
	return t.Decode(TrimAt(ids, t.eos))
}

// TrimAt returns the prefix of ids before the first occurrence of id (all of
// ids when it does not occur). It does not copy.
func TrimAt(ids []int, id int) []int {
	for i, x := range ids {
		if x == id {
			return ids[:i]
		}
	}
	return ids
}

// libEncode encodes s through the library's pipeline (pre-tokenizer, model,
// added vocabulary). It is the reference that Encode's table must match; an
// <unk> in the output is reported as a *CharError.
func (t *Tokenizer) libEncode(s string) ([]int, error) {
	enc, err := t.lib.EncodeSingle(s, false)
	if err != nil {
		return nil, fmt.Errorf("tokens: library encode: %w", err)
	}
	for i, id := range enc.Ids {
		if id == t.unk {
			off := 0
			if i < len(enc.Offsets) && len(enc.Offsets[i]) > 0 {
				off = enc.Offsets[i][0]
			}
			r, _ := utf8.DecodeRuneInString(s[min(off, len(s)):])
			return nil, &CharError{Char: r, Offset: off}
		}
	}
	return enc.Ids, nil
}

// EncodePrompt is the ids of s after the tokens the post-processor puts
// before a sequence (<bos> for entrolab's tokenizers; nothing for GPT-2's),
// as int32 (the policy's token type). Tokens the post-processor appends
// (a closing </s>) are left out: a prompt is continued, not closed.
func (t *Tokenizer) EncodePrompt(s string) ([]int32, error) {
	ids, err := t.AppendEncode(append([]int(nil), t.prompt...), s)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(ids))
	for i, x := range ids {
		out[i] = int32(x)
	}
	return out, nil
}

// EncodeSpecial is Encode with the post-processor's special tokens around
// the sequence: the ids Hugging Face's encode(s) (add_special_tokens=True)
// gives.
func (t *Tokenizer) EncodeSpecial(s string) ([]int, error) {
	pre, suf := t.prompt, []int(nil)
	if t.gen != nil {
		pre, suf = t.gen.prefix, t.gen.suffix
	}
	ids, err := t.AppendEncode(append([]int(nil), pre...), s)
	if err != nil {
		return nil, err
	}
	return append(ids, suf...), nil
}

// DecodeCompletion is the text of ids up to (not including) the first <eos>.
func (t *Tokenizer) DecodeCompletion(ids []int32) string {
	buf := make([]int, 0, len(ids))
	for _, x := range ids {
		if int(x) == t.eos {
			break
		}
		buf = append(buf, int(x))
	}
	return t.Decode(buf)
}
