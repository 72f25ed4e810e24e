package tokens_test

import (
	"fmt"

	"github.com/entrolab/entrolab/tokens"
)

func Example() {
	tk := tokens.New()
	ids, err := tk.Encode("12+345=")
	if err != nil {
		panic(err)
	}
	completion := append([]int{7, 9, 11}, tk.EOSID(), tk.PadID())
	fmt.Println(tk.VocabSize(), ids)
	fmt.Println(tk.Decode(completion), tk.DecodeUntilEOS(completion))
	_, err = tk.Encode("12?")
	fmt.Println(err)
	// Output:
	// 25 [5 6 14 7 8 9 20]
	// 357<eos><pad> 357
	// tokens: character "?" (U+003F) at byte 2 is not in the vocabulary
}
