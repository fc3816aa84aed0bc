#!/usr/bin/env bash
# The demo (README "Two commands"): builds the library, the simulator and the C till, starts
# the simulator with an automatic customer who approves a couple of seconds after the QR code
# is first fetched, pays examples/orders/se_coffee.json with the C till, and stops the
# simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v gcc >/dev/null 2>&1 || { echo "demo: gcc is needed (apt-get install gcc)" >&2; exit 1; }

echo "building the library and the simulator..."
cargo build --quiet --lib -p klarna-pos
cargo build --quiet -p klarna-pos-sim
mkdir -p "$TARGET/demo"
gcc -std=c99 -Wall -Wextra -Werror -I include examples/c/till.c \
    -L "$TARGET/debug" -lklarna_pos -Wl,-rpath,"$TARGET/debug" -o "$TARGET/demo/till"

# Start the simulator on a free port and read its address from its first line.
coproc SIM { exec "$TARGET/debug/klarna-pos-sim" --listen 127.0.0.1:0 --customer auto \
    --auto-delay-ms 3000 --username demo_user --password demo_password 2>/dev/null; }
trap 'kill "$SIM_PID" 2>/dev/null || true' EXIT
read -r line <&"${SIM[0]}"
url=${line#listening on }
echo "simulator: $url (customer approves about 3 s after the QR code is fetched)"
echo

KLARNA_API_URL=$url KLARNA_USERNAME=demo_user KLARNA_PASSWORD=demo_password \
    "$TARGET/demo/till" examples/orders/se_coffee.json --timeout-ms 30000
