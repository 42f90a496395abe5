#!/usr/bin/env bash
# make-set.sh -- render a ground-truth set for background-removal evaluation.
#
# usage: make-set.sh OUTPUT_DIR SET [SCENE ...]
#   SET    dev, holdout or renders (scene list: scenes/SET.list; see ../README.md)
#   SCENE  optional scene names to (re)render only those
# env:  SIZE=640 (square image size), QUALITY="+A0.1 +AM2 +R3" (POV AA flags),
#       KEEP=1 keeps the raw renders in the temporary folder under /tmp.
#
# Each scene scenes/<name>.pov is rendered twice from the same camera/object:
#   <name>.png       full product photo, sRGB 8-bit RGB PNG
#   <name>.mask.png  alpha of the object-only render (Declare=MASK=1, +UA),
#                    8-bit grayscale, 0 = background, 255 = object
# and OUTPUT_DIR/manifest.json lists the pairs.
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0"; exit 2
fi
OUT=$1; SET=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SCENES=$HERE/scenes
LIST=$SCENES/$SET.list
[ -f "$LIST" ] || { echo "unknown set '$SET' (no $LIST)" >&2; exit 2; }
SIZE=${SIZE:-640}
QUALITY=${QUALITY:-+A0.1 +AM2 +R3}

# a python3 with numpy + PIL
PY=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy, PIL' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "need python3 with numpy and PIL" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d -t povset.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

mapfile -t NAMES < <(grep -v '^#' "$LIST" | grep -v '^[[:space:]]*$' | cut -f1)
if [ $# -gt 0 ]; then NAMES=("$@"); fi

# POV-Ray's default I/O restrictions allow reading the current folder and
# writing /tmp, so render from inside scenes/ into $TMP.
cd "$SCENES"
POV=(povray -D -P -V +FN8 File_Gamma=sRGB +W"$SIZE" +H"$SIZE" $QUALITY)
T0=$(date +%s.%N)
for n in "${NAMES[@]}"; do
  [ -f "$n.pov" ] || { echo "missing scene $n.pov" >&2; exit 1; }
  t=$(date +%s.%N)
  "${POV[@]}" +I"$n.pov" +O"$TMP/$n.png" Declare=MASK=0 -UA >"$TMP/$n.log" 2>&1 \
    || { tail -20 "$TMP/$n.log" >&2; echo "render failed: $n" >&2; exit 1; }
  "${POV[@]}" +I"$n.pov" +O"$TMP/$n.rgba.png" Declare=MASK=1 +UA >"$TMP/$n.mask.log" 2>&1 \
    || { tail -20 "$TMP/$n.mask.log" >&2; echo "mask render failed: $n" >&2; exit 1; }
  printf '%-26s %6.1fs\n' "$n" "$(echo "$(date +%s.%N) - $t" | bc)"
done
"$PY" "$SCENES/postprocess.py" "$TMP" "$OUT" "$LIST" "${NAMES[@]}"
printf 'set %s: %d scenes rendered in %.1fs -> %s\n' "$SET" "${#NAMES[@]}" "$(echo "$(date +%s.%N) - $T0" | bc)" "$OUT"
