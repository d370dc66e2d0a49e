#!/bin/sh
# Screenshots of issue 14's window states under Xvfb (1600x1000): docs/check_view.png,
# docs/three_planes.png, docs/cancelled.png. Demo pair only. Needs xvfb and imagemagick.
set -e
Xvfb :99 -screen 0 1600x1000x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
sleep 2
for pair in check:check_view planes:three_planes cancelled:cancelled; do
    state=${pair%%:*}; name=${pair#*:}
    log=$(mktemp)
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python scripts/window_states.py "$state" >"$log" 2>&1 &
    APP=$!
    while ! grep -q READY "$log"; do
        kill -0 $APP 2>/dev/null || { cat "$log"; exit 1; }
        sleep 1
    done
    DISPLAY=:99 import -window root "docs/$name.png"
    kill $APP
    wait $APP 2>/dev/null || true
    echo "wrote docs/$name.png"
done
