package tokens

import (
	"slices"
	"testing"
)

// FuzzEncode: Encode never panics; what it accepts decodes back to the
// input and matches the library's encoding.
func FuzzEncode(f *testing.F) {
	tk := New()
	for _, s := range []string{"", "12+345=", "3,7,25>31:", "(25+7)-3", "1?2", "12<eos>", "3×4", "1\xff2", " ", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tk.Encode(s)
		if err != nil {
			return
		}
		if back := tk.Decode(ids); back != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, back)
		}
		lib, err := tk.libEncode(s)
		if err != nil || !slices.Equal(ids, lib) {
			t.Fatalf("Encode(%q) = %v, library %v, %v", s, ids, lib, err)
		}
	})
}

// FuzzDecode: Decode and DecodeUntilEOS never panic on any ids, in range or
// not, and DecodeUntilEOS is a prefix of Decode.
func FuzzDecode(f *testing.F) {
	tk := New()
	f.Add([]byte{5, 6, 14, 7, 2, 0})
	f.Add([]byte{255, 0, 1, 2, 3, 24, 25, 128})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ids := make([]int, len(raw))
		for i, b := range raw {
			ids[i] = int(int8(b)) // -128..127: negative and past V too
		}
		full := tk.Decode(ids)
		head := tk.DecodeUntilEOS(ids)
		if len(head) > len(full) || full[:len(head)] != head {
			t.Fatalf("DecodeUntilEOS(%v) = %q, not a prefix of Decode = %q", ids, head, full)
		}
	})
}
