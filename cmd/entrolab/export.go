package main

import (
	"fmt"

	"github.com/entrolab/entrolab/policy"
	"github.com/spf13/cobra"
)

func newExportCmd() *cobra.Command {
	var hf bool
	cmd := &cobra.Command{
		Use:   "export --hf RUN_OR_CKPT OUT",
		Short: "Write a checkpoint as a Hugging Face GPT-2 directory (transformers and transformers.js load it unedited)",
		Long: `export writes the policy of a checkpoint (or of a run's latest checkpoint) to
OUT as a Hugging Face model directory: model.safetensors, config.json
(model_type gpt2, gelu_new, layer_norm_epsilon, tie_word_embeddings, token
ids), generation_config.json, tokenizer.json with a post-processor that adds
<bos> as the trainer does, tokenizer_config.json and special_tokens_map.json.
GPT2LMHeadModel.from_pretrained(OUT), AutoModelForCausalLM, AutoTokenizer and
transformers.js read it as it is. OUT must not exist or be empty.`,
		Example: `  entrolab export --hf runs/grpo_addition-s1 exported/grpo-addition
  entrolab export --hf runs/base-addition exported/base`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !hf {
				return fmt.Errorf("export: --hf is required (the Hugging Face directory is the only export format)")
			}
			dir, err := resolveCheckpoint(args[0])
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			ck, tok, _, err := loadBundle(dir)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			files, err := tok.HFFiles(ck.Weights.Cfg.MaxSeqLen)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if err := policy.ExportHF(ck.Weights, files, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s\n", dir, args[1])
			return nil
		},
	}
	cmd.Flags().BoolVar(&hf, "hf", false, "write a Hugging Face (transformers) GPT-2 directory")
	return cmd
}
