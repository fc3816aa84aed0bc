# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Sourced by the packaging scripts (layout.sh, check_c.sh, layout_check.sh, dist.sh): the
# project's version and a simulator to pay against. Expects to run from the repository root.

# Cargo.toml's [package] version, and its major part (the SONAME's).
KPOS_VERSION=$(sed -n '/^\[package\]/,/^\[/ s/^version = "\(.*\)"$/\1/p' Cargo.toml)
KPOS_MAJOR=${KPOS_VERSION%%.*}
KPOS_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
case "$KPOS_TARGET_DIR" in /*) ;; *) KPOS_TARGET_DIR=$(pwd)/$KPOS_TARGET_DIR ;; esac

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# start_sim WORK_DIR: a debug simulator whose customer approves every session, on a free
# loopback port; sets SIM_URL and stops it when the script exits.
start_sim() {
    cargo build --quiet -p klarna-pos-sim
    mkdir -p "$1"
    "$KPOS_TARGET_DIR/debug/klarna-pos-sim" --listen 127.0.0.1:0 --customer auto --auto-delay-ms 300 \
        > "$1/sim.out" 2>/dev/null &
    KPOS_SIM_PID=$!
    trap 'kill $KPOS_SIM_PID 2>/dev/null || true' EXIT
    for _ in $(seq 200); do grep -q '^listening on ' "$1/sim.out" 2>/dev/null && break; sleep 0.05; done
    SIM_URL=$(sed -n 's/^listening on //p' "$1/sim.out")
    [ -n "$SIM_URL" ] || fail "the simulator did not start"
}

# pay_with TILL_OUTPUT COMMAND...: runs a till command line against the simulator; it must exit
# 0 with status=COMPLETED.
pay_with() {
    local out=$1; shift
    KLARNA_API_URL=$SIM_URL KLARNA_USERNAME=test_user KLARNA_PASSWORD=test_password \
        "$@" examples/orders/se_coffee.json --timeout-ms 20000 > "$out" \
        || fail "$* exited $? ($(tr '\n' ' ' < "$out"))"
    grep -q '^status=COMPLETED' "$out" || fail "$*: no status=COMPLETED"
}

# Under pipefail, `producer | grep -q` can fail when grep exits before the producer has written
# everything (SIGPIPE): the scripts use `grep -c ... >/dev/null`, which reads all its input.
