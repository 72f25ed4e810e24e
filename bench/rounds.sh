#!/usr/bin/env bash
# bench/rounds.sh: back-to-back rounds of entrolab's peer benchmarks against
# the PyTorch peer (bench/gpt_torch.py), each benchmark in a process of its
# own (peak RSS is per process), alternating entrolab and PyTorch piece by
# piece, then one compact table per round, the medians over rounds and the
# S -> M -> GPT-2-small cost growth. Run it on a quiet machine: timings taken
# while anything else runs mean nothing.
#
#   bench/rounds.sh                 # 2 rounds of S, M and G2 (GPT-2 small)
#   ROUNDS=1 CONFIGS="S G2" bench/rounds.sh
#   GO_ONLY=1 / PEER_ONLY=1         # one side only (no ratios)
#   BENCHTIME=1x PEER_REPS=1 PEER_WARM=0   # every piece once (a smoke check)
#
# Needs go, and for the peer /usr/bin/python3 with torch 1.13 (Debian:
# apt-get install -y python3-torch python3-numpy libopenblas0-pthread).
# Raw outputs go to $OUT (default bench/out/rounds-<UTC time>); the table is
# printed and written to $OUT/table.txt.
#
# Both sides use the same OpenBLAS kernels: OPENBLAS_CORETYPE is the one
# entrolab picks for this CPU (internal/oblas: SkylakeX with AVX-512, Haswell
# with AVX2) unless set. entrolab runs one BLAS thread per goroutine replica
# (it sets OPENBLAS_NUM_THREADS=1 itself, GOMAXPROCS = cores); the peer runs
# --threads 2 (torch and OpenBLAS threads, OMP_WAIT_POLICY=PASSIVE so idle
# OpenMP threads sleep instead of spinning), and 1 thread too where that is
# the peer's faster setting on S and M sampling and the S GRPO step.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
CONFIGS=${CONFIGS:-"S M G2"}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-bench/out/rounds-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
	has() { [[ " $flags " == *" $1 "* ]]; }
	if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
		export OPENBLAS_CORETYPE=SkylakeX
	elif has avx2 && has fma; then
		export OPENBLAS_CORETYPE=Haswell
	fi
fi
echo "rounds=$ROUNDS configs=$CONFIGS OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(OpenBLAS default)} out=$OUT" | tee "$OUT/env.txt"
{
	uname -a; nproc; grep -m1 'model name' /proc/cpuinfo || true; go version; uptime
	[ -x "$PY" ] && "$PY" -c 'import torch; print("torch", torch.__version__)' 2>&1 || echo "no peer python"
} >>"$OUT/env.txt" 2>&1

if [ -z "${PEER_ONLY:-}" ]; then
	echo "building test binaries..."
	for p in policy rollout trainer; do go test -c -o "$OUT/$p.test" "./$p"; done
fi

# gobench NAME PKG REGEX BENCHTIME
gobench() {
	local f="$OUT/$1.go.txt" t0=$SECONDS
	[ -n "${PEER_ONLY:-}" ] && return 0
	(cd "$2" && "$OUT/$2.test" -test.run '^$' -test.bench "$3" -test.benchtime "${BENCHTIME:-$4}" -test.benchmem) >"$f" 2>&1 || {
		echo "FAILED: $1 (see $f)"
		return 0
	}
	printf '%-28s entrolab %4ds\n' "$1" $((SECONDS - t0))
}

# peer NAME THREADS ARGS...
peer() {
	local n=$1 th=$2 t0=$SECONDS
	shift 2
	[ -n "${GO_ONLY:-}" ] && return 0
	OMP_WAIT_POLICY=PASSIVE "$PY" bench/gpt_torch.py --threads "$th" "$@" ${PEER_REPS:+--reps "$PEER_REPS"} ${PEER_WARM:+--warm "$PEER_WARM"} >"$OUT/$n.peer$th.txt" 2>&1 || {
		echo "FAILED: $n peer (see $OUT/$n.peer$th.txt)"
		return 0
	}
	printf '%-28s PyTorch  %4ds (%s threads)\n' "$n" $((SECONDS - t0)) "$th"
}

start=$SECONDS
for r in $(seq 1 "$ROUNDS"); do
	echo "== round $r"
	for c in $CONFIGS; do
		case $c in
		S)
			gobench "r$r-S-train" policy 'TrainStep/S$' 15x
			peer "r$r-S-train" 2 --config S --mode train
			gobench "r$r-S-sample64" rollout 'Sample/S/batch=64$' 5x
			gobench "r$r-S-sample1" rollout 'Sample/S/batch=1$' 5x
			peer "r$r-S-sample" 1 --config S --mode sample
			peer "r$r-S-sample" 2 --config S --mode sample
			gobench "r$r-S-grpo" trainer 'GRPOStep$' 5x
			peer "r$r-S-grpo" 2 --config S --mode grpo
			peer "r$r-S-grpo" 1 --config S --mode grpo
			;;
		M)
			gobench "r$r-M-train" policy 'TrainStep/M$' 10x
			peer "r$r-M-train" 2 --config M --mode train
			gobench "r$r-M-sample64" rollout 'Sample/M/batch=64$' 3x
			gobench "r$r-M-sample1" rollout 'Sample/M/batch=1$' 3x
			peer "r$r-M-sample" 1 --config M --mode sample
			peer "r$r-M-sample" 2 --config M --mode sample
			;;
		G2)
			gobench "r$r-G2-train" policy 'GPT2Small/train$' 2x
			peer "r$r-G2-train" 2 --config G2 --mode train
			gobench "r$r-G2-sample64" rollout 'GPT2Small/batch=64$' 2x
			gobench "r$r-G2-sample1" rollout 'GPT2Small/batch=1$' 2x
			peer "r$r-G2-sample" 2 --config G2 --mode sample
			gobench "r$r-G2-grpo" trainer 'GPT2Small$' 2x
			peer "r$r-G2-grpo" 2 --config G2 --mode grpo
			;;
		*) echo "unknown config $c (S, M, G2)" >&2; exit 2 ;;
		esac
	done
done
echo "total $((SECONDS - start)) s"

"$PY" - "$OUT" <<'EOF' | tee "$OUT/table.txt"
import glob, os, re, statistics, sys
out = sys.argv[1]
def read(p):
    try: return open(p).read()
    except OSError: return ""
def gometric(txt, unit):
    m = re.search(r"^Benchmark\S+\s+\d+\s+(.*)$", txt, re.M)
    if not m: return None
    f = m.group(1).split()
    for v, u in zip(f[::2], f[1::2]):
        if u == unit: return float(v)
    return None
def peer_rss(txt):
    m = re.search(r"peakRSS_MB=(\d+)", txt); return float(m.group(1)) if m else None
def peer_train(txt):
    m = re.search(r"(\d+) tok/s \(median\)", txt); return float(m.group(1)) if m else None
def peer_sample(txt, bs):
    m = re.search(rf"batch={bs} .*?\(best\) (\d+) \(median\)", txt); return float(m.group(1)) if m else None
def peer_grpo(txt):
    m = re.search(r"step best \d+ ms median (\d+) ms", txt); return float(m.group(1)) if m else None
rounds = sorted({int(re.match(r"r(\d+)-", os.path.basename(p)).group(1)) for p in glob.glob(f"{out}/r*-*.txt")})
rows = {}  # (config, what) -> list of (go, peer, go_rss, peer_rss, peer_note)
def add(key, go, pe, grss, prss, note=""):
    rows.setdefault(key, []).append((go, pe, grss, prss, note))
def best(cands):  # the faster of the peer's thread settings: (value, rss, note)
    c = [x for x in cands if x[0] is not None]
    return max(c) if c else (None, None, "")
def lowest(cands):
    c = [x for x in cands if x[0] is not None]
    return min(c) if c else (None, None, "")
for r in rounds:
    for c in ("S", "M", "G2"):
        pre = f"{out}/r{r}-{c}"
        if not glob.glob(pre + "-*"): continue
        g = read(pre + "-train.go.txt"); p = read(pre + "-train.peer2.txt")
        add((c, "train tok/s"), gometric(g, "median_tokens/s"), peer_train(p), gometric(g, "peakRSS_MB"), peer_rss(p), "2 thr")
        for bs in (64, 1):
            g = read(f"{pre}-sample{bs}.go.txt")
            pe = best([(peer_sample(read(f"{pre}-sample.peer{th}.txt"), bs), peer_rss(read(f"{pre}-sample.peer{th}.txt")), f"{th} thr") for th in (1, 2)])
            add((c, f"sample b{bs} tok/s"), gometric(g, "median_tokens/s"), pe[0], gometric(g, "peakRSS_MB"), pe[1], pe[2])
        if c != "M":
            g = read(pre + "-grpo.go.txt")
            pe = lowest([(peer_grpo(read(f"{pre}-grpo.peer{th}.txt")), peer_rss(read(f"{pre}-grpo.peer{th}.txt")), f"{th} thr") for th in (2, 1)])
            add((c, "grpo ms/step"), gometric(g, "median_ms/step"), pe[0], gometric(g, "peakRSS_MB"), pe[1], pe[2])
GOAL = {"train tok/s": "≥1.2", "sample b64 tok/s": "≥2", "sample b1 tok/s": "", "grpo ms/step": "≤0.5"}
goal = lambda k: "" if k == ("G2", "grpo ms/step") else GOAL[k[1]]  # issue 16: the GRPO goal is S's
def fmt(x, d=0): return "-" if x is None else f"{x:,.{d}f}"
def ratio(go, pe): return None if go is None or pe is None or pe == 0 else go / pe
order = [(c, w) for c in ("S", "M", "G2") for w in ("train tok/s", "sample b64 tok/s", "sample b1 tok/s", "grpo ms/step") if (c, w) in rows]
hdr = f"{'config':6} {'what':17} {'entrolab':>10} {'PyTorch':>10} {'ratio':>6} {'goal':>5} {'RSS MB go':>9} {'RSS MB pt':>9}  peer"
for i, r in enumerate(rounds):
    print(f"round {r}\n{hdr}")
    for k in order:
        if i >= len(rows[k]): continue
        go, pe, gr, pr, note = rows[k][i]
        print(f"{k[0]:6} {k[1]:17} {fmt(go, 1 if k[1].startswith('grpo') else 0):>10} {fmt(pe):>10} {fmt(ratio(go, pe), 2):>6} {goal(k):>5} {fmt(gr):>9} {fmt(pr):>9}  {note}")
    print()
def med(xs):
    xs = [x for x in xs if x is not None]; return statistics.median(xs) if xs else None
print(f"median over {len(rounds)} round(s); ratio range over rounds in brackets\n{hdr}")
meds = {}
for k in order:
    v = rows[k]
    go, pe = med([x[0] for x in v]), med([x[1] for x in v])
    rs = [ratio(x[0], x[1]) for x in v if ratio(x[0], x[1]) is not None]
    rng = f" [{min(rs):.2f}-{max(rs):.2f}]" if len(rs) > 1 else ""
    meds[k] = (go, pe)
    print(f"{k[0]:6} {k[1]:17} {fmt(go, 1 if k[1].startswith('grpo') else 0):>10} {fmt(pe):>10} {fmt(ratio(go, pe), 2):>6} {goal(k):>5} {fmt(med([x[2] for x in v])):>9} {fmt(med([x[3] for x in v])):>9}{rng}")
print("\nratio: entrolab / PyTorch, medians (GRPO: time, lower is better); PyTorch sampling runs batch 64 and 1 in one"
      "\nprocess, so its RSS there is that process's peak; 'peer' names the faster PyTorch thread setting")
print("\ncost growth (median tokens/s, and its fall from S)")
for w in ("train tok/s", "sample b64 tok/s", "sample b1 tok/s"):
    line = [f"{w:17}"]
    s = meds.get(("S", w))
    for c in ("S", "M", "G2"):
        if (c, w) not in meds: continue
        go, pe = meds[(c, w)]
        fall = lambda a, b: "" if a is None or b is None or a == 0 else f" (/{b / a:.0f})"
        line.append(f"{c}: entrolab {fmt(go)}{fall(go, s[0] if s else None)}, PyTorch {fmt(pe)}{fall(pe, s[1] if s else None)}")
    print("  ".join(line))
EOF
