#!/usr/bin/env python3
"""An independent GPT-2 in PyTorch: writes and reads Hugging Face GPT-2
directories without entrolab code (nor transformers, which Debian does not
package). Used by entrolab's tests as the "independent program" of issue 16.

  hf_gpt2_ref.py write DIR --tokenizer TOKENIZER_JSON --eos TOKEN [--dtype f32|f16|bf16]
                           [--no-prefix] [--untied] [--seed N] [--n-embd 32 --n-layer 2 --n-head 4 --n-positions 64]
  hf_gpt2_ref.py logits DIR < {"sequences": [[ids], ...]}   ->  {"logits": [[[V floats] per position] per sequence]}

`write` lays the directory out the way transformers' save_pretrained does for
GPT2LMHeadModel: config.json with the GPT2Config keys (dropouts, summary_*,
n_ctx, task_specific_params and the rest), model.safetensors written by hand
(the safetensors format: u64 header length, JSON header, raw little-endian
data), Hub-style names ("h.0.attn.c_attn.weight", no "transformer." prefix,
with --no-prefix) including the attn.bias / attn.masked_bias buffers, Conv1D
[in, out] layouts, no lm_head.weight when tied; tokenizer.json copied,
tokenizer_config.json, special_tokens_map.json and generation_config.json.

`logits` reads such a directory (either prefix, any of F32/F16/BF16) and runs
GPT2LMHeadModel's maths in float64 the way transformers defines them:
pre-LN blocks, layer_norm_epsilon from config.json, activation_function
gelu_new (tanh) or gelu (erf), scaled causal attention, tied or untied head.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys

import torch

DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16"), "bf16": (torch.bfloat16, "BF16")}
FROM_ST = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def write_safetensors(path, tensors, st_dtype):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.float16, torch.bfloat16) else t.numpy().tobytes()
        header[name] = {"dtype": st_dtype if t.is_floating_point() else "U8", "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        t = torch.frombuffer(body[a:b], dtype=FROM_ST[e["dtype"]]) if b > a else torch.zeros(0)
        out[name] = t.reshape(e["shape"]).to(torch.float64)
    return out


def cmd_write(a):
    torch.manual_seed(a.seed)
    with open(a.tokenizer) as f:
        tj = json.load(f)
    ids = dict(tj["model"]["vocab"])
    for t in tj.get("added_tokens", []):
        ids[t["content"]] = t["id"]
    V, D, L, H, P = max(ids.values()) + 1, a.n_embd, a.n_layer, a.n_head, a.n_positions
    eos = ids[a.eos]
    dt, st = DTYPES[a.dtype]
    w = {"wte.weight": torch.randn(V, D) * 0.1, "wpe.weight": torch.randn(P, D) * 0.05}
    for l in range(L):
        p = "h.%d." % l
        w[p + "ln_1.weight"] = 1 + 0.1 * torch.randn(D)
        w[p + "ln_1.bias"] = 0.05 * torch.randn(D)
        w[p + "attn.c_attn.weight"] = 0.1 * torch.randn(D, 3 * D)
        w[p + "attn.c_attn.bias"] = 0.02 * torch.randn(3 * D)
        w[p + "attn.c_proj.weight"] = 0.1 * torch.randn(D, D)
        w[p + "attn.c_proj.bias"] = 0.02 * torch.randn(D)
        w[p + "ln_2.weight"] = 1 + 0.1 * torch.randn(D)
        w[p + "ln_2.bias"] = 0.05 * torch.randn(D)
        w[p + "mlp.c_fc.weight"] = 0.1 * torch.randn(D, 4 * D)
        w[p + "mlp.c_fc.bias"] = 0.02 * torch.randn(4 * D)
        w[p + "mlp.c_proj.weight"] = 0.05 * torch.randn(4 * D, D)
        w[p + "mlp.c_proj.bias"] = 0.02 * torch.randn(D)
    w["ln_f.weight"] = 1 + 0.1 * torch.randn(D)
    w["ln_f.bias"] = 0.05 * torch.randn(D)
    tensors = {}
    for k, v in w.items():
        tensors[k if a.no_prefix else "transformer." + k] = v.to(dt)
    if a.untied:
        tensors["lm_head.weight"] = (torch.randn(V, D) * 0.1).to(dt)
    for l in range(L):  # the causal-mask buffers older transformers versions saved
        p = ("" if a.no_prefix else "transformer.") + "h.%d.attn." % l
        tensors[p + "bias"] = torch.tril(torch.ones(P, P)).reshape(1, 1, P, P).to(dt)
        tensors[p + "masked_bias"] = torch.tensor(-1e4).to(dt)
    os.makedirs(a.dir, exist_ok=True)
    write_safetensors(os.path.join(a.dir, "model.safetensors"), tensors, st)
    cfg = {
        "_name_or_path": "hf_gpt2_ref", "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1, "bos_token_id": eos, "embd_pdrop": 0.1, "eos_token_id": eos, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": P, "n_embd": D, "n_head": H, "n_inner": None,
        "n_layer": L, "n_positions": P, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
        "tie_word_embeddings": not a.untied, "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype],
        "transformers_version": "4.46.0", "use_cache": True, "vocab_size": V,
    }
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    shutil.copyfile(a.tokenizer, os.path.join(a.dir, "tokenizer.json"))
    with open(os.path.join(a.dir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": a.eos, "eos_token": a.eos, "unk_token": a.eos, "model_max_length": P,
                   "tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False}, f, indent=2)
    with open(os.path.join(a.dir, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": a.eos, "eos_token": a.eos, "unk_token": a.eos}, f, indent=2)
    with open(os.path.join(a.dir, "generation_config.json"), "w") as f:
        json.dump({"_from_model_config": True, "bos_token_id": eos, "eos_token_id": eos, "transformers_version": "4.46.0"}, f, indent=2)


def gelu(x, kind):
    if kind in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if kind == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    raise SystemExit("activation_function %r not implemented by this reader" % kind)


def cmd_logits(a):
    with open(os.path.join(a.dir, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "gpt2", cfg.get("model_type")
    assert cfg.get("architectures", ["GPT2LMHeadModel"]) == ["GPT2LMHeadModel"], cfg.get("architectures")
    assert cfg.get("n_inner") in (None, 4 * cfg["n_embd"]), "n_inner"
    assert cfg.get("scale_attn_weights", True) and not cfg.get("scale_attn_by_inverse_layer_idx", False)
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = cfg.get("activation_function", "gelu_new")
    tied = cfg.get("tie_word_embeddings", True)
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    raw = read_safetensors(os.path.join(a.dir, "model.safetensors"))
    w = {}
    for k, v in raw.items():
        w[k[len("transformer."):] if k.startswith("transformer.") else k] = v
    head = w["wte.weight"] if tied else w["lm_head.weight"]
    if tied:
        assert "lm_head.weight" not in w or torch.equal(w["lm_head.weight"], w["wte.weight"])
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), w[p + ".weight"], w[p + ".bias"], eps)
    req = json.load(sys.stdin)
    out = []
    for seq in req["sequences"]:
        ids = torch.tensor(seq, dtype=torch.long)
        T = len(seq)
        h = w["wte.weight"][ids] + w["wpe.weight"][:T]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        for l in range(L):
            p = "h.%d." % l
            x = ln(h, p + "ln_1")
            qkv = x @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
            q, k, v = qkv.split(D, dim=-1)
            sh = lambda t: t.reshape(T, H, D // H).transpose(0, 1)
            q, k, v = sh(q), sh(k), sh(v)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(0, 1).reshape(T, D)
            h = h + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            x = ln(h, p + "ln_2")
            x = gelu(x @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], act)
            h = h + x @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        h = ln(h, "ln_f")
        out.append((h @ head.T).tolist())
    json.dump({"logits": out}, sys.stdout)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("dir")
    w.add_argument("--tokenizer", required=True)
    w.add_argument("--eos", required=True)
    w.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    w.add_argument("--no-prefix", action="store_true")
    w.add_argument("--untied", action="store_true")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--n-embd", type=int, default=32)
    w.add_argument("--n-layer", type=int, default=2)
    w.add_argument("--n-head", type=int, default=4)
    w.add_argument("--n-positions", type=int, default=64)
    r = sub.add_parser("logits")
    r.add_argument("dir")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    {"write": cmd_write, "logits": cmd_logits}[a.cmd](a)


if __name__ == "__main__":
    main()
