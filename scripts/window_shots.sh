#!/bin/sh
# Screenshots of the window's states under Xvfb, one screen size per run:
#   scripts/window_shots.sh [WIDTHxHEIGHT, default 1280x800] [folder, default docs/shots]
# writes <folder>/<size>/{fused,planes,check,brush,roi,shortcuts}.png (the demo pair only;
# the window fills the screen). Needs xvfb and imagemagick (import).
set -e
SIZE=${1:-1280x800}
OUT=${2:-docs/shots}/$SIZE
DISPLAY_NO=${DISPLAY_NO:-98}
mkdir -p "$OUT"
Xvfb ":$DISPLAY_NO" -screen 0 "${SIZE}x24" -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
sleep 2
for state in ${STATES:-fused planes check brush roi shortcuts}; do
    log=$(mktemp)
    DISPLAY=":$DISPLAY_NO" QT_QPA_PLATFORM=xcb python scripts/window_states.py "$state" "$SIZE" \
        >"$log" 2>&1 &
    APP=$!
    while ! grep -q READY "$log"; do
        kill -0 $APP 2>/dev/null || { cat "$log"; exit 1; }
        sleep 1
    done
    DISPLAY=":$DISPLAY_NO" import -window root "$OUT/$state.png"
    kill $APP
    wait $APP 2>/dev/null || true
    rm -f "$log"
    echo "wrote $OUT/$state.png"
done
