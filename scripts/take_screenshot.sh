#!/bin/sh
# Regenerate docs/screenshot.png: the window under Xvfb at 1280x800 with the demo pair fused
# and the decision-map overlay on. Needs: apt-get install xvfb imagemagick (and Qt's xcb libs).
# Usage: scripts/take_screenshot.sh [seconds to wait for the fusion, default 90]
set -e
WAIT=${1:-90}
Xvfb :99 -screen 0 1280x800x24 -nolisten tcp &
XVFB=$!
trap 'kill $APP $XVFB 2>/dev/null || true' EXIT
sleep 2
DISPLAY=:99 QT_QPA_PLATFORM=xcb brainfuse view --demo &
APP=$!
sleep "$WAIT"
DISPLAY=:99 import -window root docs/screenshot.png
echo "wrote docs/screenshot.png"
