#!/usr/bin/env python3
"""Post-process POV-Ray renders into a ground-truth set.

usage: postprocess.py RENDER_DIR OUT_DIR LIST_FILE [name ...]

For every scene in LIST_FILE (tab separated: name, difficulty, background,
object and, optionally, class: the kind of difficulty it stands for) this copies RENDER_DIR/<name>.png (the photo, sRGB 8-bit RGB, as
written by POV-Ray) to OUT_DIR/<name>.png, extracts the alpha channel of
RENDER_DIR/<name>.rgba.png (the object-only +UA render) into
OUT_DIR/<name>.mask.png (8-bit single channel, 0 = background,
255 = object) and writes OUT_DIR/manifest.json.  If names are given only
those are processed, and the manifest is (re)written from every scene of
the list whose files exist in OUT_DIR.
"""
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image


def read_list(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) not in (4, 5):
                raise SystemExit(f"{path}: expected 4 or 5 tab-separated columns: {line!r}")
            row = dict(zip(("name", "difficulty", "background", "object", "class"), cols))
            rows.append(row)
    return rows


def main():
    rdir, odir, listfile = sys.argv[1:4]
    only = set(sys.argv[4:])
    rows = read_list(listfile)
    os.makedirs(odir, exist_ok=True)
    for r in rows:
        n = r["name"]
        if only and n not in only:
            continue
        photo = Image.open(os.path.join(rdir, n + ".png"))
        if photo.mode != "RGB":
            raise SystemExit(f"{n}: photo mode {photo.mode}, expected RGB")
        shutil.copyfile(os.path.join(rdir, n + ".png"), os.path.join(odir, n + ".png"))
        rgba = Image.open(os.path.join(rdir, n + ".rgba.png"))
        if rgba.mode != "RGBA":
            raise SystemExit(f"{n}: mask render mode {rgba.mode}, expected RGBA")
        if rgba.size != photo.size:
            raise SystemExit(f"{n}: size mismatch {rgba.size} vs {photo.size}")
        alpha = np.asarray(rgba)[..., 3].astype(np.uint8)
        Image.fromarray(alpha, mode="L").save(os.path.join(odir, n + ".mask.png"), optimize=True)
    manifest = []
    for r in rows:
        n = r["name"]
        if not (os.path.exists(os.path.join(odir, n + ".png"))
                and os.path.exists(os.path.join(odir, n + ".mask.png"))):
            continue
        manifest.append(dict(name=n, image=n + ".png", mask=n + ".mask.png",
                             background=r["background"], difficulty=r["difficulty"],
                             object=r["object"], **({"class": r["class"]} if "class" in r else {})))
    with open(os.path.join(odir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
