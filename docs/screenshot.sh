#!/usr/bin/env bash
# Regenerates docs/resnet50-html.png, the README's picture of `paramcount resnet50 --format html`:
# the top of the page (title, totals, the charts of parameters and MACs) in headless Chromium at
# 1280 x 1000 CSS pixels. Needs chromium (or chromium-browser) and paramcount importable (the
# project's virtual environment active). Offline: the page loads nothing, and Chromium is told not
# to reach the network either.
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "docs/screenshot.sh: chromium is not installed" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m paramcount resnet50 --format html >"$work/resnet50.html"
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --user-data-dir="$work/profile" --hide-scrollbars --force-device-scale-factor=1 \
  --window-size=1280,1000 --screenshot="$work/shot.png" "file://$work/resnet50.html" >/dev/null 2>&1
test -s "$work/shot.png"
cp "$work/shot.png" docs/resnet50-html.png
echo "docs/resnet50-html.png: $(wc -c <docs/resnet50-html.png) bytes"
