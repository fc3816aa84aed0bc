#!/usr/bin/env bash
# Validation against parsing: validating a 1000-line order (~250 KB) must cost at most half of
# what CPython's json.loads takes to merely parse the same bytes. Not part of tests/run; speed
# is measured here, side by side in one run, never as a threshold in a test.
#
#   tests/bench/validation.sh        ROUNDS=7 N=200 by default
#
# Each round runs the library's validation (benches/validation.rs, release build: read the order,
# check every rule, build the body to send) N times and json.loads N times, alternating, and
# takes each side's median; the result is the median of the rounds' medians and their ratio.
# Needs python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-7}
N=${N:-200}
TARGET=${CARGO_TARGET_DIR:-$(pwd)/target}
OUT=$TARGET/bench
mkdir -p "$OUT"
ORDER=$OUT/order_1000_lines.json

python3 - "$ORDER" <<'PY'
import json, sys
lines = []
for i in range(1000):
    lines.append({
        "type": "physical",
        "reference": f"7310050{i:06d}",
        "name": f"Kaffebönor 500 g, sort {i}",
        "quantity": 2,
        "quantity_unit": "pcs",
        "unit_price": 8995,
        "tax_rate": 1200,
        "total_amount": 16990,
        "total_discount_amount": 1000,
        "total_tax_amount": 1820,
        "product_url": f"https://shop.example/p/{i}",
    })
order = {
    "purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE",
    "order_amount": 16990 * 1000, "order_tax_amount": 1820 * 1000,
    "order_lines": lines,
    "merchant_reference1": "BENCH-1000", "merchant_reference2": "042-till-3",
}
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(order, f, ensure_ascii=False)
PY

echo "building (release) ..." >&2
cargo bench --no-run --quiet -p klarna-pos --bench validation
BENCH=$(ls -t "$TARGET"/release/deps/validation-* | grep -v '\.d$' | head -1)

RESULTS=$OUT/validation.txt
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
    echo "side=kpos round=$round $("$BENCH" "$ORDER" "$N")" >> "$RESULTS"
    python3 - "$ORDER" "$N" "$round" >> "$RESULTS" <<'PY'
import json, sys, time
text = open(sys.argv[1], encoding="utf-8").read()
n = int(sys.argv[2])
json.loads(text)
times = []
for _ in range(n):
    t = time.perf_counter()
    json.loads(text)
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
print(f"side=python round={sys.argv[3]} median_us={times[n // 2]:.1f} min_us={times[0]:.1f} bytes={len(text.encode())}")
PY
done

python3 - "$RESULTS" "$ROUNDS" "$N" <<'PY'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in open(sys.argv[1])]
med = lambda side: statistics.median(float(r["median_us"]) for r in rows if r["side"] == side)
kpos, py = med("kpos"), med("python")
size = int(rows[0]["bytes"])
print(f"order: 1000 lines, {size / 1024:.0f} KiB; {sys.argv[2]} alternating rounds of {sys.argv[3]} runs each")
print(f"| | median of the rounds' medians |")
print(f"|---|---|")
print(f"| klarna-pos: validate and build the body | {kpos / 1000:.3f} ms |")
print(f"| CPython {sys.version.split()[0]}: json.loads | {py / 1000:.3f} ms |")
print(f"| ratio (target at most 0.50) | {kpos / py:.2f} |")
PY
