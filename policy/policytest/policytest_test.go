package policytest

import "testing"

func TestBaseLoads(t *testing.T) {
	ck := Base(t)
	if ck.Files["tokenizer.json"] == nil || ck.Files["sft.json"] == nil {
		t.Fatalf("base checkpoint lacks tokenizer.json or sft.json")
	}
	if Tiny(t, 11).W.Cfg.Vocab != 11 {
		t.Fatal("tiny vocab")
	}
}
