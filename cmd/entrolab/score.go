package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/entrolab/entrolab/policy"
	"github.com/spf13/cobra"
)

func newScoreCmd() *cobra.Command {
	var ckpt string
	cmd := &cobra.Command{
		Use:   "score --ckpt DIR",
		Short: "Per-token log-probs and entropies of fixed texts under a checkpoint's policy",
		Long: `score reads JSON lines {"text": "..."} on stdin and writes one JSON line per
text: {"tokens": [ids], "logprobs": [...], "entropies": [...]}. tokens are the
text's ids with the tokenizer's special tokens (what Hugging Face's
tokenizer(text) gives: <bos> first for entrolab's tokenizers); logprobs[i] is
log p(tokens[i] | tokens[<i]) and entropies[i] the entropy (nats) of the
distribution tokens[i] is drawn from, both null at i = 0. The policy runs at
temperature 1. DIR is a checkpoint, a run directory (its latest checkpoint)
or a Hugging Face GPT-2 directory.`,
		Example: `  echo '{"text": "12+345=357"}' | entrolab score --ckpt runs/base-addition`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := resolveCheckpoint(ckpt)
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			ck, tok, _, err := loadBundle(dir)
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			m := policy.FromWeights(ck.Weights)
			return scoreLines(cmd.InOrStdin(), cmd.OutOrStdout(), m, tok.EncodeSpecial)
		},
	}
	cmd.Flags().StringVar(&ckpt, "ckpt", "", "checkpoint, run or Hugging Face directory (required)")
	cmd.MarkFlagRequired("ckpt")
	return cmd
}

type scoreLine struct {
	Tokens    []int      `json:"tokens"`
	LogProbs  []*float64 `json:"logprobs"`
	Entropies []*float64 `json:"entropies"`
}

// scoreLines scores every input line; a bad line stops with its number.
func scoreLines(in io.Reader, out io.Writer, m *policy.Model, encode func(string) ([]int, error)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(out)
	maxT := m.Cfg().MaxSeqLen
	line := 0
	for sc.Scan() {
		line++
		var req struct {
			Text *string `json:"text"`
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || req.Text == nil {
			return fmt.Errorf("score: stdin:%d: want {\"text\": \"...\"} (%v)", line, err)
		}
		ids, err := encode(*req.Text)
		if err != nil {
			return fmt.Errorf("score: stdin:%d: %w", line, err)
		}
		res := scoreLine{Tokens: ids, LogProbs: make([]*float64, len(ids)), Entropies: make([]*float64, len(ids))}
		if len(ids) > maxT {
			return fmt.Errorf("score: stdin:%d: %d tokens, the model has %d positions", line, len(ids), maxT)
		}
		if n := len(ids) - 1; n >= 1 {
			t := 1 // a few graph shapes, not one per length: pad to a power of two
			for t < n {
				t *= 2
			}
			t = min(t, maxT)
			bt := policy.NewBatch(1, t)
			seq := make([]int32, len(ids))
			for i, x := range ids {
				seq[i] = int32(x)
			}
			if err := bt.SetRow(0, seq, 1, 0); err != nil {
				return fmt.Errorf("score: stdin:%d: %w", line, err)
			}
			lp, ent := make([]float64, t), make([]float64, t)
			if err := m.LogProbs(bt, 1, lp, ent, nil); err != nil {
				return fmt.Errorf("score: stdin:%d: %w", line, err)
			}
			for i := 1; i < len(ids); i++ {
				a, e := lp[i-1], ent[i-1]
				if math.IsNaN(a) || math.IsInf(a, 0) || math.IsNaN(e) {
					return fmt.Errorf("score: stdin:%d: non-finite log-prob at token %d", line, i)
				}
				res.LogProbs[i], res.Entropies[i] = &a, &e
			}
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return sc.Err()
}
