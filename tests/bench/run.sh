#!/usr/bin/env bash
# The benchmark (docs/performance.md): the library's C ABI against a hand-written libcurl till,
# both driving the simulator over loopback, plus footprint numbers. Not part of tests/run.
#
#   tests/bench/run.sh            ROUNDS=7 N=2000 by default; ROUNDS=3 N=500 for a quick look
#
# kpos_bench and curl_bench also run over HTTPS: start the simulator with --tls-cert and
# --tls-key (tests/data/tls/localhost.*), call https://localhost:PORT and set
# KPOS_BENCH_CA_FILE=tests/data/tls/ca.pem so that both trust the test CA (docs/performance.md).
#
# Needs gcc, libcurl4-openssl-dev, pkg-config, python3, strace and valgrind. Builds the library and the simulator
# in release mode (the simulator must not be the bottleneck), then measures, alternating the
# two sides round by round:
#   seq       N x (create a session + one status read) on one client / one curl handle, and
#             on a bare socket (tests/bench/bare_bench.c: the floor both clients stand on)
#   syscalls  system calls per create + read (strace -f -c), both sides
#   instr     user-space instructions per create + read (valgrind --tool=callgrind), both sides
#   threads   16 threads on one shared client / 16 curl handles, 16 x M sessions
#   conns     TCP connections the simulator saw for 1000 sequential sessions
#   rss       resident set size before and after 100 000 sessions
#   validate  a 1000-line order refused at its very end (all of it parsed and checked)
#   size      the release .so, stripped, against its limit (tests/bench/size.sh: fails the run
#             when over it); exported symbols
#   cold      dlopen + client + first session, fresh process each time
# Prints a Markdown table; raw lines go to target/bench/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-7}
N=${N:-2000}
THREADS=${THREADS:-16}
PER_THREAD=${PER_THREAD:-500}
RSS_SESSIONS=${RSS_SESSIONS:-100000}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET/bench
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: > "$RESULTS"

echo "building (release) ..." >&2
cargo rustc --release --quiet -p klarna-pos --lib --crate-type cdylib,staticlib
cargo build --release --quiet -p klarna-pos-sim
LIBDIR=$TARGET/release
CFLAGS=(-std=c99 -O2 -Wall -Wextra -Werror -pthread -I "$ROOT/include" -I "$ROOT/tests/bench")
gcc "${CFLAGS[@]}" tests/bench/kpos_bench.c -o "$OUT/kpos_bench" \
    -L "$LIBDIR" -lklarna_pos -Wl,-rpath,"$LIBDIR"
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" tests/bench/curl_bench.c -o "$OUT/curl_bench" $(pkg-config --cflags --libs libcurl)
gcc "${CFLAGS[@]}" tests/bench/coldstart.c -o "$OUT/coldstart" -ldl
gcc "${CFLAGS[@]}" tests/bench/bare_bench.c -o "$OUT/bare_bench"

"$LIBDIR/klarna-pos-sim" --listen 127.0.0.1:0 > "$OUT/sim.out" 2>/dev/null &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$OUT/sim.out" 2>/dev/null && break
    sleep 0.05
done
URL=$(sed -n 's/^listening on //p' "$OUT/sim.out" | head -1)
[ -n "$URL" ] || { echo "the simulator did not start" >&2; exit 1; }

stat_of() { curl -s "$URL/_sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# CPU seconds the simulator has used so far (user + system).
sim_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$SIM_PID/stat"; }
record() { echo "$*" | tee -a "$RESULTS" >&2; }

echo "simulator at $URL; $ROUNDS rounds of $N sessions per side" >&2
cpu0=$(sim_cpu); req0=$(stat_of requests); t0=$(date +%s.%N)
for r in $(seq "$ROUNDS"); do
    record "round=$r $("$OUT/kpos_bench" "$URL" seq "$N")"
    record "round=$r $("$OUT/curl_bench" "$URL" seq "$N")"
    record "round=$r $("$OUT/bare_bench" "$URL" seq "$N")"
done
cpu1=$(sim_cpu); req1=$(stat_of requests); t1=$(date +%s.%N)
record "sim requests=$((req1 - req0)) cpu_s=$(awk "BEGIN { print $cpu1 - $cpu0 }") wall_s=$(awk "BEGIN { print $t1 - $t0 }")"

# Per create + read: the difference between a run of PAIRS_HI and one of PAIRS_LO sessions,
# divided by the difference, so that loading, client creation and the first connection drop out.
PAIRS_LO=${PAIRS_LO:-100}
PAIRS_HI=${PAIRS_HI:-300}
syscalls_of() { # side N -> "total name=count name=count ..." of the whole run
    strace -f -c -o "$OUT/strace.$1.$2" "$OUT/${1}_bench" "$URL" seq "$2" > /dev/null
    # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
    awk '$NF == "total" { t = $4 } $1 ~ /^[0-9.]+$/ && $NF != "total" { n = n " " $NF "=" $4 }
         END { print t n }' "$OUT/strace.$1.$2"
}
instructions_of() { # side N -> instructions of the whole run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$OUT/${1}_bench" "$URL" seq "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for side in kpos curl; do
    if command -v strace > /dev/null; then
        lo=$(syscalls_of "$side" "$PAIRS_LO"); hi=$(syscalls_of "$side" "$PAIRS_HI")
        record "side=$side mode=syscalls per_pair=$(python3 - "$lo" "$hi" "$((PAIRS_HI - PAIRS_LO))" <<'PY'
import sys
lo, hi, n = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3])
per = lambda a, b: (int(b) - int(a)) / n
names = lambda v: dict(x.split("=") for x in v[1:])
l, h = names(lo), names(hi)
parts = {k: per(l.get(k, 0), h.get(k, 0)) for k in set(l) | set(h)}
print(f"{per(lo[0], hi[0]):.1f} by_call=" + ",".join(f"{k}:{v:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if abs(v) >= 0.05))
PY
)"
    else
        echo "strace not found: no system call counts" >&2
    fi
    if command -v valgrind > /dev/null; then
        lo=$(instructions_of "$side" "$PAIRS_LO"); hi=$(instructions_of "$side" "$PAIRS_HI")
        record "side=$side mode=instructions per_pair=$(( (hi - lo) / (PAIRS_HI - PAIRS_LO) ))"
    else
        echo "valgrind not found: no instruction counts" >&2
    fi
done

for side in kpos curl; do
    c0=$(stat_of connections)
    "$OUT/${side}_bench" "$URL" seq 1000 > /dev/null
    record "side=$side mode=conns sessions=1000 threads=1 connections=$(( $(stat_of connections) - c0 ))"
done

for r in 1 2 3; do
    for side in kpos curl; do
        c0=$(stat_of connections)
        line=$("$OUT/${side}_bench" "$URL" threads "$THREADS" "$PER_THREAD")
        record "round=$r $line connections=$(( $(stat_of connections) - c0 ))"
    done
done

record "$("$OUT/kpos_bench" "$URL" rss "$RSS_SESSIONS")"
record "$("$OUT/kpos_bench" "$URL" validate 200)"

# The stripped size against its limit; over it, the table is still printed, then the run fails.
SIZE_OVER=0
size_line=$(tests/bench/size.sh) || SIZE_OVER=1
record "$size_line"

for r in $(seq 11); do
    record "cold round=$r $("$OUT/coldstart" "$LIBDIR/libklarna_pos.so" "$URL")"
done

python3 - "$RESULTS" <<'PY'
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(sys.argv[1])]
def pick(**kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)
seq_k, seq_c = pick(side="kpos", mode="seq"), pick(side="curl", mode="seq")
thr_k, thr_c = pick(side="kpos", mode="threads"), pick(side="curl", mode="threads")
sim = [r for r in rows if "cpu_s" in r][0]
sim_rps = int(sim["requests"]) / max(float(sim["cpu_s"]), 1e-9)
busy = float(sim["cpu_s"]) / float(sim["wall_s"])
rss, val = pick(mode="rss")[0], pick(mode="validate")[0]
size = [r for r in rows if "stripped_bytes" in r][0]
cold = [r for r in rows if "load_us" in r]
ck, cc = pick(side="kpos", mode="conns")[0], pick(side="curl", mode="conns")[0]
mk, mc = med(seq_k, "median_us"), med(seq_c, "median_us")
print()
print("| measure | klarna-pos (C ABI) | libcurl + hand-built JSON | goal |")
print("|---|---|---|---|")
pk, pc = med(seq_k, "p99_us"), med(seq_c, "p99_us")
print(f"| create session + status read, median of {len(seq_k)} round medians | {mk:.1f} µs | {mc:.1f} µs | ratio {mk/mc:.2f} (≤ 0.90) |")
print(f"| same, p99 (median over rounds) | {pk:.1f} µs | {pc:.1f} µs | ratio {pk/pc:.2f} |")
per_round = sorted(float(k["median_us"]) / float(c["median_us"]) for k, c in zip(seq_k, seq_c))
print(f"| same, ratio of each round's medians: median (lowest, highest) | {statistics.median(per_round):.2f} ({per_round[0]:.2f}, {per_round[-1]:.2f}) | | |")
seq_b = pick(side="bare", mode="seq")
if seq_b:
    mb = med(seq_b, "median_us")
    print(f"| same, above a bare socket client's {mb:.1f} µs (server, kernel and loopback) | {mk - mb:.1f} µs | {mc - mb:.1f} µs | ratio {(mk - mb) / (mc - mb):.2f} |")
sk, sc = pick(side="kpos", mode="syscalls"), pick(side="curl", mode="syscalls")
if sk and sc:
    print(f"| system calls per create + read (strace -f -c) | {sk[0]['per_pair']} ({sk[0]['by_call']}) | {sc[0]['per_pair']} ({sc[0]['by_call']}) | ≤ libcurl |")
ik, ic = pick(side="kpos", mode="instructions"), pick(side="curl", mode="instructions")
if ik and ic:
    print(f"| user-space instructions per create + read (callgrind) | {int(ik[0]['per_pair']):,} | {int(ic[0]['per_pair']):,} | |")
print(f"| TCP connections for 1000 sequential sessions | {ck['connections']} | {cc['connections']} | 1 |")
tk, tc = med(thr_k, "sessions_per_s"), med(thr_c, "sessions_per_s")
print(f"| {thr_k[0]['threads']} threads: sessions/s (median of {len(thr_k)}); connections | {tk:.0f}; {thr_k[-1]['connections']} (one client) | {tc:.0f}; {thr_c[-1]['connections']} ({thr_c[0]['threads']} handles) | ratio {tc/tk:.2f} curl/ours |")
print(f"| RSS before → after {int(rss['sessions']):,} sessions | {rss['rss_before_kib']} → {rss['rss_after_kib']} KiB ({int(rss['growth_kib']):+d} KiB) | | no growth |")
print(f"| validate a 1000-line order ({int(val['bytes'])//1024} KiB): median (best) of {val['rounds']} | {float(val['median_us'])/1000:.2f} ms ({float(val['min_us'])/1000:.2f} ms) | | ≤ 1 ms |")
print(f"| release .so: stripped (as built) | {int(size['stripped_bytes']):,} bytes ({int(size['so_bytes']):,}) | | ≤ {int(size['limit']):,} bytes |")
print(f"| exported symbols (not kpos_) | {size['exports']} ({size['non_kpos_exports']}) | | only kpos_ |")
best = min(cold, key=lambda r: float(r["total_us"]))
print(f"| cold start: dlopen + client + first session: median (best) of {len(cold)} | {med(cold,'total_us')/1000:.2f} ms ({float(best['total_us'])/1000:.2f} ms: load {float(best['load_us'])/1000:.2f}, client {float(best['client_us'])/1000:.2f}, first call {float(best['first_call_us'])/1000:.2f}) | | |")
print(f"| simulator: requests/s per CPU second; busy share of the sequential run | {sim_rps:,.0f} req/s; {busy*100:.0f}% of one core | | not the bottleneck |")
PY
if [ "$SIZE_OVER" -ne 0 ]; then
    echo "FAILED: the stripped release library is over its size limit (see the table)" >&2
    exit 1
fi
