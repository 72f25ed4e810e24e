# Minimal GPT-2-style decoder in PyTorch (pre-LN, GELU(tanh) MLP 4x, learned pos emb, TIED token emb / lm_head,
# biases on all Linear layers, like llm.c's GPT-2).  Benchmarks: train step, KV-cache sampling, GRPO-style step.
# usage: python3 gpt_torch.py --config S|M|G2 --threads N --mode train|sample|grpo|check
# Copied from ../shared/bench/gpt_torch.py with one addition (issue 16): config G2, GPT-2 small's shape
# (V50257 d768 L12 H12, T256, B8) with a 256-row position table and a 4 prompts x 4 completions GRPO step
# (G2 runs one warm-up and two timed runs by default); OPENBLAS_CORETYPE defaults to the kernels entrolab picks
# on this CPU (Haswell with AVX2, SkylakeX with AVX-512); peak RSS is VmHWM like entrolab's benchmarks; --warm;
# --profile prints torch.profiler's top ops of the timed runs (shares are valid under load, times are not).
# S and M are unchanged.
import argparse, os, sys, time, math
ap = argparse.ArgumentParser()
ap.add_argument("--config", default="S"); ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mode", default="train"); ap.add_argument("--reps", type=int, default=0)
ap.add_argument("--warm", type=int, default=-1)  # untimed warm-up runs; default 2 (train) or 1, G2: 1
ap.add_argument("--profile", action="store_true")  # print torch.profiler's top ops (self CPU) over the timed runs
args = ap.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
def _coretype():  # the OpenBLAS kernels entrolab picks (internal/oblas coreTypeFor), unless the user set them
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split(":", 1)[1].split()
    except (OSError, StopIteration):
        return ""
    if all(f in flags for f in ("avx512f", "avx512bw", "avx512vl", "avx512dq")): return "SkylakeX"
    if "avx2" in flags and "fma" in flags: return "Haswell"
    return ""
if not os.environ.get("OPENBLAS_CORETYPE") and _coretype():
    os.environ["OPENBLAS_CORETYPE"] = _coretype()  # before torch loads OpenBLAS
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(args.threads)
torch.manual_seed(0)

CFG = {"S": dict(V=64, d=128, L=4, H=4, T=64, B=64), "M": dict(V=64, d=256, L=6, H=8, T=128, B=32),
       "G2": dict(V=50257, d=768, L=12, H=12, T=256, B=8)}[args.config]
MAXPOS = 256 if args.config == "G2" else 128  # position table size (S trains at T=64 but sampling needs 16+64=80 positions)

class Block(nn.Module):
    def __init__(s, d, H):
        super().__init__(); s.H = H
        s.ln1 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
        s.ln2 = nn.LayerNorm(d); s.fc = nn.Linear(d, 4 * d); s.fc2 = nn.Linear(4 * d, d)
    def attn(s, x, cache=None, pos=0):
        B, T, d = x.shape; H = s.H; hd = d // H
        q, k, v = s.qkv(s.ln1(x)).split(d, dim=2)
        q = q.view(B, T, H, hd).transpose(1, 2); k = k.view(B, T, H, hd).transpose(1, 2); v = v.view(B, T, H, hd).transpose(1, 2)
        if cache is not None:  # cache: (K, V) each (B, H, MAXPOS, hd), preallocated
            cache[0][:, :, pos:pos + T] = k; cache[1][:, :, pos:pos + T] = v
            k = cache[0][:, :, :pos + T]; v = cache[1][:, :, :pos + T]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        if T > 1:
            Tk = k.shape[2]
            mask = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=Tk - T)
            att = att.masked_fill(~mask, float("-inf"))
        att = att.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        return s.proj(y)
    def forward(s, x, cache=None, pos=0):
        x = x + s.attn(x, cache, pos)
        return x + s.fc2(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(s, V, d, L, H, **_):
        super().__init__()
        s.wte = nn.Embedding(V, d); s.wpe = nn.Embedding(MAXPOS, d)
        s.blocks = nn.ModuleList([Block(d, H) for _ in range(L)]); s.lnf = nn.LayerNorm(d)
        for p in s.parameters():
            if p.dim() > 1: nn.init.normal_(p, std=0.02)
    def forward(s, idx, caches=None, pos=0):
        B, T = idx.shape
        x = s.wte(idx) + s.wpe(torch.arange(pos, pos + T))
        for i, b in enumerate(s.blocks): x = b(x, None if caches is None else caches[i], pos)
        return s.lnf(x) @ s.wte.weight.t()  # tied lm_head

V, d, L, H, T, B = (CFG[k] for k in "VdLHTB")
model = GPT(**CFG)
nparams = sum(p.numel() for p in model.parameters())
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
hdr = f"torch={torch.__version__} threads={torch.get_num_threads()} OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE','(default)')} config={args.config} {CFG} params={nparams}"

def train_step(x, y):
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return loss

@torch.no_grad()
def sample(prompt, n_new):
    Bs, P = prompt.shape; hd = d // H
    caches = [(torch.empty(Bs, H, MAXPOS, hd), torch.empty(Bs, H, MAXPOS, hd)) for _ in range(L)]
    logits = model(prompt, caches, 0)[:, -1]
    out = [prompt]; pos = P
    for i in range(n_new):
        nxt = torch.multinomial(F.softmax(logits, dim=-1), 1)
        out.append(nxt)
        if i == n_new - 1: break
        logits = model(nxt, caches, pos)[:, -1]; pos += 1
    return torch.cat(out, dim=1)

def timeit(fn, reps, warm=2):
    if args.warm >= 0: warm = args.warm
    elif args.config == "G2": warm = 1
    for _ in range(warm): fn()
    ts = []
    prof = torch.autograd.profiler.profile() if args.profile else None
    if prof: prof.__enter__()
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    if prof:
        prof.__exit__(None, None, None)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))
    ts.sort(); return ts[0], ts[len(ts) // 2]

if args.mode == "check":  # KV-cache path == full forward
    with torch.no_grad():
        seq = torch.randint(0, V, (2, 40)); full = model(seq)
        hd = d // H; caches = [(torch.empty(2, H, MAXPOS, hd), torch.empty(2, H, MAXPOS, hd)) for _ in range(L)]
        inc = [model(seq[:, :16], caches, 0)]
        for t in range(16, 40): inc.append(model(seq[:, t:t + 1], caches, t))
        print("max |full - kvcache| =", (full - torch.cat(inc, 1)).abs().max().item())
elif args.mode == "train":
    x = torch.randint(0, V, (B, T)); y = torch.randint(0, V, (B, T))
    reps = args.reps or {"S": 10, "M": 5, "G2": 2}[args.config]
    best, med = timeit(lambda: train_step(x, y), reps)
    print(f"TRAIN {hdr} B={B} T={T}: step best {best*1e3:.1f} ms median {med*1e3:.1f} ms -> {B*T/best:.0f} tok/s (best) {B*T/med:.0f} tok/s (median)")
elif args.mode == "sample":
    for Bs in (1, 64):
        prompt = torch.randint(0, V, (Bs, 16))
        reps = args.reps or (2 if args.config == "G2" else 3)
        best, med = timeit(lambda: sample(prompt, 64), reps, warm=1)
        print(f"SAMPLE {hdr} batch={Bs} prompt=16 new=64: best {best*1e3:.1f} ms median {med*1e3:.1f} ms -> {Bs*64/best:.0f} new tok/s (best) {Bs*64/med:.0f} (median); {best/64*1e3:.3f} ms/step")
elif args.mode == "grpo":
    NP, G, P, NEW = (4, 4, 16, 64) if args.config == "G2" else (8, 8, 16, 64)
    prompts = torch.randint(0, V, (NP, P)).repeat_interleave(G, dim=0)  # 64 x 16
    tb = {}
    def grpo_step():
        t0 = time.perf_counter()
        seqs = sample(prompts, NEW)                                   # (64, 80)
        t1 = time.perf_counter()
        reward = (seqs[:, P:] == 7).float().mean(1)                     # toy reward
        adv = (reward.view(NP, G) - reward.view(NP, G).mean(1, keepdim=True)) / (reward.view(NP, G).std(1, keepdim=True) + 1e-4)
        logits = model(seqs[:, :-1])[:, P - 1:]                         # predict response tokens
        logp = torch.log_softmax(logits, -1).gather(-1, seqs[:, P:].unsqueeze(-1)).squeeze(-1)
        loss = -(adv.view(-1, 1) * logp).mean()
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        t2 = time.perf_counter(); tb.setdefault("s", []).append(t1 - t0); tb.setdefault("u", []).append(t2 - t1)
    reps = args.reps or (2 if args.config == "G2" else 3)
    best, med = timeit(grpo_step, reps, warm=1)
    ntok_gen = NP * G * NEW; ntok_all = NP * G * (P + NEW)
    nw = len(tb["s"]) - reps; s = sorted(tb["s"][nw:]); u = sorted(tb["u"][nw:])
    print(f"GRPO {hdr} prompts={NP} G={G} prompt={P} new={NEW}: step best {best*1e3:.0f} ms median {med*1e3:.0f} ms "
          f"(sample {s[0]*1e3:.0f} ms, logprob fwd+bwd+AdamW {u[0]*1e3:.0f} ms) -> {ntok_gen/best:.0f} generated tok/s, {ntok_all/best:.0f} total seq tok/s (best)")
def peak_rss_mb():  # VmHWM, as entrolab's benchmarks read it (internal/benchmeter); getrusage where /proc is missing
    try:
        for l in open("/proc/self/status"):
            if l.startswith("VmHWM:"): return int(l.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"peakRSS_MB={peak_rss_mb():.0f}")
