package sft

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy"
	"github.com/entrolab/entrolab/reward"
	"github.com/entrolab/entrolab/tokens"
)

func datasetSFT(t *testing.T, train, test []string) Config {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		return p
	}
	cfg := DefaultConfig()
	cfg.Task = reward.DefaultConfig()
	cfg.Task.Name, cfg.Task.Train, cfg.Task.Test = "dataset", write("train.jsonl", train), write("test.jsonl", test)
	return cfg
}

// TestSFTOnDataset trains a few steps on JSONL answers: the base gets a
// tokenizer of the training data's characters (plus the specials).
func TestSFTOnDataset(t *testing.T) {
	cfg := datasetSFT(t, []string{`{"prompt": "ab>", "answer": "ba"}`, `{"prompt": "abc>", "answer": "cba"}`}, []string{`{"prompt": "ca>", "answer": "ac"}`})
	cfg.MaxSteps, cfg.EvalEvery, cfg.BatchSize, cfg.MaxNewToken = 3, 3, 4, 4
	out := filepath.Join(t.TempDir(), "base")
	if _, err := Run(context.Background(), cfg, out, false, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := policy.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.Parse(ck.Files["tokenizer.json"])
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tok.Tokens(), " "); got != "<pad> <bos> <eos> <unk> > a b c" {
		t.Errorf("tokenizer = %q, want the specials and > a b c", got)
	}
	if ck.Weights.Cfg.Vocab != 8 {
		t.Errorf("model vocab %d, want 8", ck.Weights.Cfg.Vocab)
	}
}

// TestSFTDatasetChecks: a character the tokenizer cannot encode and a
// prompt + answer longer than the context fail before training, naming
// file:line.
func TestSFTDatasetChecks(t *testing.T) {
	long := strings.Repeat("a", 40)
	for _, tc := range []struct {
		name        string
		train, test []string
		want        string
	}{
		{"unknown_char", []string{`{"prompt": "ab>", "answer": "ba"}`}, []string{`{"prompt": "ba>", "answer": "ab"}`, `{"prompt": "a?>", "answer": "?a"}`},
			`test.jsonl:2: prompt "a?>": tokens: character "?" (U+003F) at byte 1 is not in the vocabulary`},
		{"too_long", []string{`{"prompt": "ab>", "answer": "ba"}`, `{"prompt": "` + long + `>", "answer": "` + long + `"}`}, []string{`{"prompt": "ba>", "answer": "ab"}`},
			"train.jsonl:2: prompt + answer is 83 tokens with <bos> and <eos>; a policy context of 48 positions holds at most 49 (model.max_seq_len = 48)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := datasetSFT(t, tc.train, tc.test)
			_, err := Run(context.Background(), cfg, filepath.Join(t.TempDir(), "base"), false, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run() = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestTokenizerFor: task.tokenizer wins; a dataset without one gets its
// characters; a generated task the built-in vocabulary.
func TestTokenizerFor(t *testing.T) {
	cfg := datasetSFT(t, []string{`{"prompt": "12+3=", "answer": "15"}`}, []string{`{"prompt": "1+1=", "answer": "2"}`})
	task, err := reward.New(cfg.Task)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := TokenizerFor(cfg.Task, task)
	if err != nil || tok.VocabSize() != 4+6 {
		t.Fatalf("from data: %v tokens %v, want 10", tok.Tokens(), err)
	}
	cfg.Task.Tokenizer = filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tokens.New().Save(cfg.Task.Tokenizer); err != nil {
		t.Fatal(err)
	}
	if tok, err = TokenizerFor(cfg.Task, task); err != nil || tok.VocabSize() != tokens.New().VocabSize() {
		t.Fatalf("task.tokenizer: %v, %v", tok, err)
	}
	cfg.Task.Tokenizer = filepath.Join(t.TempDir(), "missing.json")
	if _, err = TokenizerFor(cfg.Task, task); err == nil || !strings.Contains(err.Error(), "task.tokenizer") {
		t.Fatalf("missing task.tokenizer: %v", err)
	}
}
