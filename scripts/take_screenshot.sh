#!/bin/sh
# Regenerate docs/screenshot.png (the demo pair fused, the decision-map overlay on) and
# docs/check_view.png: the window filling a 1280x800 Xvfb screen, taken with `import -window
# root` once the window says READY (scripts/window_states.py). Needs xvfb and imagemagick.
set -e
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
STATES="fused check" scripts/window_shots.sh 1280x800 "$TMP"
cp "$TMP/1280x800/fused.png" docs/screenshot.png
cp "$TMP/1280x800/check.png" docs/check_view.png
echo "wrote docs/screenshot.png and docs/check_view.png"
