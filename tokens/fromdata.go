package tokens

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// FromChars builds a character-level tokenizer for the given characters
// (a dataset's alphabet): the specials <pad> <bos> <eos> <unk> get ids 0-3,
// then one token per distinct character in code-point order. Duplicates are
// dropped; invalid runes (utf8.RuneError) and an empty set are errors. Its
// tokenizer.json is the same format as New's, read back through the
// library like any loaded file.
func FromChars(chars []rune) (*Tokenizer, error) {
	cs := slices.Clone(chars)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	if len(cs) == 0 {
		return nil, fmt.Errorf("tokens: no characters to build a vocabulary from")
	}
	toks := make([]string, 0, 4+len(cs))
	toks = append(toks, PadToken, BOSToken, EOSToken, UnkToken)
	for _, r := range cs {
		if r == utf8.RuneError || !utf8.ValidRune(r) {
			return nil, fmt.Errorf("tokens: character %U is not a valid rune", r)
		}
		toks = append(toks, string(r))
	}
	data, err := marshalFile(toks, []string{PadToken, BOSToken, EOSToken, UnkToken}, UnkToken)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return Parse(data)
}
