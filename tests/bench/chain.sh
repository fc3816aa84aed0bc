#!/usr/bin/env bash
# The chain benchmark (docs/chain.md): one simulator with Klarna's production rate limits
# (40 session creations and 200 other requests a second for the merchant, over all its
# connections), TILLS tills (each its own client, in PROCS processes of threads, built against
# the committed header), customers arriving at random and approving 5-30 s after the session
# starts, for DURATION seconds of arrivals (payments under way then are finished). Once with
# polling, once with webhooks verified by a separate receiver process that has only the
# webhook secret and relays each callback to the till that owns the session. Not part of
# tests/run.
#
#   tests/bench/chain.sh                      TILLS=1000 DURATION=90 IDLE_MS=30000 PROCS=4
#   MODES=polling TILLS=2000 tests/bench/chain.sh
#
# Arrivals: a till is idle for an exponentially distributed time of mean IDLE_MS between two
# customers, so a till starts a payment every IDLE_MS + ~17.5 s (the mean approval) + detection
# on average: about TILLS / 47.5 creations a second at the defaults (21/s for 1000 tills),
# below the 40/s limit up to about 1900 tills; bursts above it are refused with 429 and the
# till creates again after the Retry-After the library reports (counted in rate_limited).
#
# Prints a Markdown table, then per mode the line
#   chain: mode=<polling|webhook> tills=N payments=P requests_per_payment=R rate_limited=X failed=F detect_p50_ms=A detect_p99_ms=B
# R counts every request the simulator received from the tills (refused ones included);
# detect is from the customer's approval (as the simulator records it) to the till seeing
# COMPLETED. Raw output goes to target/bench/chain/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TILLS=${TILLS:-1000}
DURATION=${DURATION:-90}
IDLE_MS=${IDLE_MS:-30000}
PROCS=${PROCS:-4}
MODES=${MODES:-polling webhook}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET/bench/chain
mkdir -p "$OUT"

echo "building (release) ..." >&2
cargo rustc --release --quiet -p klarna-pos --lib --crate-type cdylib,staticlib
cargo build --release --quiet -p klarna-pos-sim
LIBDIR=$TARGET/release
CFLAGS=(-std=c99 -O2 -Wall -Wextra -Werror -pthread -I "$ROOT/include" -I "$ROOT/tests/bench")
for prog in chain_till chain_receiver; do
    gcc "${CFLAGS[@]}" "tests/bench/$prog.c" -o "$OUT/$prog" \
        -L "$LIBDIR" -lklarna_pos -Wl,-rpath,"$LIBDIR" -lm
done
# A connection (and a simulator thread) per till.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Waits for a line matching $2 in file $1 and prints it.
await_line() {
    for _ in $(seq 200); do
        if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1"; return; fi
        sleep 0.05
    done
    echo "no line $2 in $1" >&2
    exit 1
}

run_mode() {
    local mode=$1 dir=$OUT/$1
    rm -rf "$dir" && mkdir -p "$dir"
    "$LIBDIR/klarna-pos-sim" --listen 127.0.0.1:0 --rate-limits production \
        --customer auto --auto-start creation --auto-delay-ms 5000 --auto-delay-max-ms 30000 \
        > "$dir/sim.out" 2> /dev/null &
    local sim=$!
    PIDS+=("$sim")
    local url
    url=$(await_line "$dir/sim.out" '^listening on ' | sed 's/^listening on //')
    local extra=()
    local receiver=""
    if [ "$mode" = webhook ]; then
        local secret
        secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
        "$OUT/chain_receiver" --url "$url" --secret "$secret" > "$dir/receiver.out" 2> "$dir/receiver.err" &
        receiver=$!
        PIDS+=("$receiver")
        local http relay
        http=$(await_line "$dir/receiver.out" '^http ' | cut -d' ' -f2)
        relay=$(await_line "$dir/receiver.out" '^relay ' | cut -d' ' -f2)
        extra=(--relay "127.0.0.1:$relay" --webhook-url "http://127.0.0.1:$http/hook" --secret "$secret")
    fi
    echo "$mode: $TILLS tills in $PROCS processes, $DURATION s of arrivals, simulator at $url" >&2
    local started drivers=() per=$(( (TILLS + PROCS - 1) / PROCS )) first=0 g=0
    started=$(date +%s.%N)
    while [ "$first" -lt "$TILLS" ]; do
        local n=$(( TILLS - first < per ? TILLS - first : per ))
        "$OUT/chain_till" --url "$url" --group "$g" --first-till "$first" --tills "$n" \
            --seconds "$DURATION" --idle-ms "$IDLE_MS" "${extra[@]}" \
            > "$dir/tills-$g.txt" 2> "$dir/tills-$g.err" &
        drivers+=("$!")
        first=$(( first + n )); g=$(( g + 1 ))
    done
    local rc=0
    for d in "${drivers[@]}"; do wait "$d" || rc=1; done
    local ended
    ended=$(date +%s.%N)
    curl -s "$url/_sim/stats" > "$dir/stats.json"
    curl -s "$url/_sim/sessions" > "$dir/sessions.json"
    kill "$sim" ${receiver:+"$receiver"} 2>/dev/null || true
    [ "$rc" = 0 ] || echo "$mode: a till process failed (see $dir/tills-*.err)" >&2
    python3 - "$mode" "$TILLS" "$dir" "$started" "$ended" "$DURATION" >> "$OUT/rows.txt" <<'PY'
import glob, json, sys
mode, tills, d, started, ended, duration = sys.argv[1:]
paid, failed, refused_creates, relay_refused = {}, [], 0, 0
for path in sorted(glob.glob(d + "/tills-*.txt")):
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "P":
            paid[parts[1]] = int(parts[2])
        elif parts[0] == "F":
            failed.append(line.strip())
        elif parts[0] == "R":
            refused_creates += 1
        elif parts[0] == "W":
            relay_refused += 1
stats = json.load(open(d + "/stats.json"))
approved = {s["session_id"]: s["approved_at_ms"] for s in json.load(open(d + "/sessions.json"))
            if s.get("approved_at_ms") is not None}
detect = sorted(paid[s] - approved[s] for s in paid if s in approved)
def pct(p):
    return detect[min(len(detect) - 1, int(len(detect) * p / 100))] if detect else -1
elapsed = float(ended) - float(started)
payments = len(paid)
r = stats["requests"] / payments if payments else 0.0
row = {
    "mode": mode, "tills": int(tills), "payments": payments, "failed": len(failed),
    "elapsed_s": round(elapsed, 1), "creations_per_s": round(stats["sessions_created"] / elapsed, 1),
    "requests_per_s": round(stats["requests"] / elapsed, 1), "requests_per_payment": round(r, 2),
    "rate_limited": stats["rate_limited"], "rate_limited_creates": stats["rate_limited_creates"],
    "creates_retried": refused_creates, "relay_refused": relay_refused,
    "duplicate_creates": stats["duplicate_creates"],
    "detect_p50_ms": pct(50), "detect_p90_ms": pct(90), "detect_p99_ms": pct(99),
    "detect_max_ms": detect[-1] if detect else -1, "without_approval_time": payments - len(detect),
}
for f in failed[:10]:
    print("failure: " + f, file=sys.stderr)
print(json.dumps(row))
PY
}

: > "$OUT/rows.txt"
for mode in $MODES; do run_mode "$mode"; done

python3 - "$OUT/rows.txt" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cols = ["mode", "tills", "payments", "failed", "elapsed_s", "creations_per_s", "requests_per_s",
        "requests_per_payment", "rate_limited", "rate_limited_creates", "duplicate_creates",
        "relay_refused", "detect_p50_ms", "detect_p90_ms", "detect_p99_ms", "detect_max_ms"]
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
for r in rows:
    print("| " + " | ".join(str(r[c]) for c in cols) + " |")
print()
for r in rows:
    print("chain: mode={mode} tills={tills} payments={payments} requests_per_payment={requests_per_payment} "
          "rate_limited={rate_limited} failed={failed} detect_p50_ms={detect_p50_ms} "
          "detect_p99_ms={detect_p99_ms}".format(**r))
PY
