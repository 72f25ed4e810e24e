package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entrolab/entrolab/policy"
)

// refScript is the independent GPT-2 (PyTorch, no entrolab code) that
// writes and reads Hugging Face directories.
var refScript = filepath.Join("..", "..", "policy", "testdata", "hf_gpt2_ref.py")

// torchPython returns Debian's python3 when it has torch (apt-get install
// python3-torch), or skips the test saying why.
func torchPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipped: %s cannot import torch (apt-get install python3-torch): %v", py, err)
	}
	return py
}

func refWrite(t *testing.T, py, dir string, args ...string) {
	t.Helper()
	tok := filepath.Join("..", "..", "tokens", "testdata", "hf", "gpt2_bytelevel", "tokenizer.json")
	cmd := exec.Command(py, append([]string{refScript, "write", dir, "--tokenizer", tok, "--eos", "<|endoftext|>"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference writer: %v\n%s", err, out)
	}
}

// refLogits runs the reference reader on dir.
func refLogits(t *testing.T, py, dir string, seqs [][]int) [][][]float64 {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"sequences": seqs})
	cmd := exec.Command(py, refScript, "logits", dir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference reader: %v\n%s", err, stderr.String())
	}
	var res struct {
		Logits [][][]float64 `json:"logits"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res.Logits
}

// goLogits loads dir the way every command does and returns the logits of
// each sequence (position-major, V per position).
func goLogits(t *testing.T, dir string, seqs [][]int) [][][]float64 {
	t.Helper()
	ck, _, _, err := loadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := policy.FromWeights(ck.Weights)
	v := ck.Weights.Cfg.Vocab
	var out [][][]float64
	for _, s := range seqs {
		bt := policy.NewBatch(1, len(s))
		seq := make([]int32, len(s))
		for i, x := range s {
			seq[i] = int32(x)
		}
		if err := bt.SetRow(0, seq, 1, 0); err != nil {
			t.Fatal(err)
		}
		n := len(s)
		lp, ent, lg := make([]float64, n), make([]float64, n), make([]float32, n*v)
		if err := m.LogProbs(bt, 1, lp, ent, lg); err != nil {
			t.Fatal(err)
		}
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = make([]float64, v)
			for j := range rows[i] {
				rows[i][j] = float64(lg[i*v+j])
			}
		}
		out = append(out, rows)
	}
	return out
}

func maxDiff(t *testing.T, a, b [][][]float64) float64 {
	t.Helper()
	d := 0.0
	if len(a) != len(b) {
		t.Fatalf("%d vs %d sequences", len(a), len(b))
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			t.Fatalf("sequence %d: %d vs %d positions", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			if len(a[i][j]) != len(b[i][j]) {
				t.Fatalf("sequence %d position %d: %d vs %d logits", i, j, len(a[i][j]), len(b[i][j]))
			}
			for k := range a[i][j] {
				d = math.Max(d, math.Abs(a[i][j][k]-b[i][j][k]))
			}
		}
	}
	return d
}

var refSeqs = [][]int{{16, 17, 10, 18, 19, 20, 28}, {257, 296, 299, 0, 304}, {304, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 100, 200, 300}}

// TestHFIndependentRoundTrip is issue 16's "done when": a GPT-2 directory
// written by an independent program (PyTorch, BF16, Hub-style names without
// the transformer. prefix, attention buffers, a byte-level BPE tokenizer)
// loads as entrolab's base policy with the reader's logits, trains for two
// RL steps, and the export of the trained run loads back in the independent
// reader with logits equal within 1e-4; score's log-probs are the reader's.
func TestHFIndependentRoundTrip(t *testing.T) {
	py := torchPython(t)
	tmp := t.TempDir()
	base := filepath.Join(tmp, "hf-base")
	refWrite(t, py, base, "--dtype", "bf16", "--no-prefix")
	if d := maxDiff(t, goLogits(t, base, refSeqs), refLogits(t, py, base, refSeqs)); d > 1e-4 {
		t.Fatalf("imported base: logits differ from the reference reader by %g", d)
	}

	run := filepath.Join(tmp, "run")
	if out, err := execute(t, "train", "em_rl_addition", "--set", "base.checkpoint="+base, "--steps", "2",
		"--set", "train.prompts_per_step=4", "--out", run, "--no-plots"); err != nil {
		t.Fatalf("train on the imported base: %v\n%s", err, out)
	}
	out := filepath.Join(tmp, "exported")
	if o, err := execute(t, "export", "--hf", run, out); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	ref := refLogits(t, py, out, refSeqs)
	d := maxDiff(t, goLogits(t, out, refSeqs), ref)
	if d > 1e-4 {
		t.Fatalf("exported run: logits differ from the reference reader by %g", d)
	}
	t.Logf("exported run: max |logit - reference| = %.2g", d)
	latest, _ := resolveCheckpoint(run)
	if d := maxDiff(t, goLogits(t, latest, refSeqs), ref); d > 1e-4 {
		t.Fatalf("run checkpoint vs its export in the reference reader: %g", d)
	}
	if d := maxDiff(t, goLogits(t, base, refSeqs), ref); d < 1e-6 {
		t.Fatalf("two RL steps left the weights unchanged (max logit change %g)", d)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("export lacks %s", f)
		}
	}

	// score: logprobs[i] = log softmax(reference logits[i-1])[tokens[i]].
	root := newRoot()
	var sout bytes.Buffer
	root.SetOut(&sout)
	root.SetErr(&sout)
	root.SetIn(strings.NewReader(`{"text": "12+345=357"}` + "\n"))
	root.SetArgs([]string{"score", "--ckpt", out})
	if err := root.Execute(); err != nil {
		t.Fatalf("score: %v\n%s", err, sout.String())
	}
	var sc scoreLine
	if err := json.Unmarshal(sout.Bytes(), &sc); err != nil {
		t.Fatalf("score output %q: %v", sout.String(), err)
	}
	r := refLogits(t, py, out, [][]int{sc.Tokens})[0]
	if sc.LogProbs[0] != nil || len(sc.LogProbs) != len(sc.Tokens) {
		t.Fatalf("score: %+v", sc)
	}
	for i := 1; i < len(sc.Tokens); i++ {
		row := r[i-1]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = math.Max(mx, x)
		}
		z, h := 0.0, 0.0
		for _, x := range row {
			z += math.Exp(x - mx)
		}
		for _, x := range row {
			p := math.Exp(x-mx) / z
			h -= p * math.Log(p)
		}
		want := row[sc.Tokens[i]] - mx - math.Log(z)
		if math.Abs(*sc.LogProbs[i]-want) > 1e-4 || math.Abs(*sc.Entropies[i]-h) > 1e-4 {
			t.Errorf("score token %d: logprob %g entropy %g, reference %g %g", i, *sc.LogProbs[i], *sc.Entropies[i], want, h)
		}
	}
}

// F16, an untied head and the transformer. prefix, written by the reference.
func TestHFImportF16Untied(t *testing.T) {
	py := torchPython(t)
	dir := filepath.Join(t.TempDir(), "hf")
	refWrite(t, py, dir, "--dtype", "f16", "--untied", "--seed", "3")
	ck, _, _, err := loadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ck.Weights.Cfg.Untied {
		t.Fatalf("tie_word_embeddings false was not honoured")
	}
	if d := maxDiff(t, goLogits(t, dir, refSeqs), refLogits(t, py, dir, refSeqs)); d > 1e-4 {
		t.Fatalf("logits differ from the reference reader by %g", d)
	}
}

// TestExportTokenizerInHFLibraries loads the tokenizer files of exports
// (the committed base's character tokenizer, and a byte-level BPE one) in
// both Hugging Face tokenizer libraries from npm and checks their
// encode(text) ids equal entrolab's EncodeSpecial, which for a prompt is
// what the trainer feeds the policy (<bos> first for entrolab's tokenizer).
// HF_NODE_MODULES names a node_modules with tokenizers and
// @huggingface/tokenizers (.ci/run installs them); skipped without.
func TestExportTokenizerInHFLibraries(t *testing.T) {
	mods := os.Getenv("HF_NODE_MODULES")
	if mods == "" {
		t.Skip("skipped: HF_NODE_MODULES is not set (npm install --ignore-scripts tokenizers@0.23.2 @huggingface/tokenizers@0.2.0)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("skipped: no node")
	}
	tmp := t.TempDir()
	// A byte-level BPE checkpoint: fixture tokenizer, random weights.
	tj, err := os.ReadFile(filepath.Join("..", "..", "tokens", "testdata", "hf", "gpt2_bytelevel", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := policy.NewWeights(policy.Config{Vocab: 305, DModel: 16, NLayers: 1, NHeads: 2, MaxSeqLen: 32, InitStd: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	bpe := filepath.Join(tmp, "bpe-ck")
	ck := &policy.Checkpoint{Weights: w, Files: map[string][]byte{"tokenizer.json": tj,
		"tokenizer_config.json": []byte(`{"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}`)}}
	if err := ck.Save(bpe); err != nil {
		t.Fatal(err)
	}
	texts := []string{"12+345=", "", "3,7,25>31:", " 1  2 ", "hello world<|endoftext|>", "it's 42"}
	for _, src := range []string{filepath.Join("..", "..", "policy", "policytest", "testdata", "base-addition"), bpe} {
		out := filepath.Join(tmp, "export-"+filepath.Base(src))
		if o, err := execute(t, "export", "--hf", src, out); err != nil {
			t.Fatalf("export %s: %v\n%s", src, err, o)
		}
		_, tok, _, err := loadBundle(out)
		if err != nil {
			t.Fatal(err)
		}
		var use []string
		var want [][]int
		for _, s := range texts {
			ids, err := tok.EncodeSpecial(s)
			if err != nil {
				continue // not encodable by the character tokenizer
			}
			use, want = append(use, s), append(want, ids)
		}
		arg, _ := json.Marshal(use)
		cmd := exec.Command("node", filepath.Join("..", "..", "tokens", "testdata", "hf", "check_export.mjs"), out, string(arg))
		cmd.Env = append(os.Environ(), "HF_NODE_MODULES="+mods)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		var got struct{ Rust, JS [][]int }
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for i, s := range use {
			for lib, ids := range map[string][]int{"tokenizers (Rust)": got.Rust[i], "@huggingface/tokenizers (transformers.js)": got.JS[i]} {
				if !equalIDs(ids, want[i]) {
					t.Errorf("%s: %s encodes %q as %v, entrolab %v", filepath.Base(src), lib, s, ids, want[i])
				}
			}
		}
		if filepath.Base(src) == "base-addition" {
			p, _ := tok.EncodePrompt("12+345=")
			if int(p[0]) != want[0][0] || len(p) != len(want[0]) {
				t.Errorf("the trainer's prompt %v is not the libraries' encoding %v", p, want[0])
			}
		}
	}
}

func equalIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sft --init starts from a Hugging Face directory (here the committed base,
// exported) and keeps its network; a model key set beside it is refused.
func TestSFTInitFromHF(t *testing.T) {
	tmp := t.TempDir()
	hf := filepath.Join(tmp, "hf")
	if o, err := execute(t, "export", "--hf", filepath.Join("..", "..", "policy", "policytest", "testdata", "base-addition"), hf); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	out := filepath.Join(tmp, "sft")
	if o, err := execute(t, "sft", "--init", hf, "--steps", "2", "--set", "eval_every=1", "--set", "eval_size=4", "--out", out); err != nil {
		t.Fatalf("sft --init: %v\n%s", err, o)
	}
	base, _ := policy.LoadCheckpoint(hf)
	ck, err := policy.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Weights.Cfg != base.Weights.Cfg || ck.Step != 2 {
		t.Fatalf("sft --init: config %+v step %d, want %+v after 2 steps", ck.Weights.Cfg, ck.Step, base.Weights.Cfg)
	}
	if _, err := execute(t, "sft", "--init", hf, "--set", "model.d_model=32", "--out", filepath.Join(tmp, "x")); err == nil || !strings.Contains(err.Error(), "init") {
		t.Fatalf("sft --init with model.d_model: %v", err)
	}
}
