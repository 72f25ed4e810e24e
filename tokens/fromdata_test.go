package tokens

import (
	"errors"
	"slices"
	"testing"
)

func TestFromChars(t *testing.T) {
	tok, err := FromChars([]rune("olleh\n é<"))
	if err != nil {
		t.Fatal(err)
	}
	// specials first, then the distinct characters in code-point order
	want := []string{PadToken, BOSToken, EOSToken, UnkToken, "\n", " ", "<", "e", "h", "l", "o", "é"}
	if got := tok.Tokens(); !slices.Equal(got, want) {
		t.Fatalf("Tokens() = %q, want %q", got, want)
	}
	for _, s := range []string{"hello", "é<\nh"} {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
		lib, err := tok.libEncode(s)
		if err != nil || !slices.Equal(lib, ids) {
			t.Errorf("library ids of %q = %v (%v), want %v", s, lib, err, ids)
		}
	}
	if _, err := tok.Encode("x"); !errors.Is(err, ErrUnknownChar) {
		t.Errorf("Encode(x) error = %v, want ErrUnknownChar", err)
	}
	// the saved file reads back to the same vocabulary
	b, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil || !slices.Equal(back.Tokens(), want) {
		t.Fatalf("Parse(Marshal()) = %v, %v", back.Tokens(), err)
	}
	if _, err := FromChars(nil); err == nil {
		t.Error("FromChars(nil) succeeded")
	}
}
