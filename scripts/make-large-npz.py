#!/usr/bin/python3
"""Writes a MedMNIST-style .npz of N generated grayscale images without holding it in memory.

Usage: /usr/bin/python3 scripts/make-large-npz.py OUT.npz N [SIDE] [VAL]
Two classes: class 1 images carry a bright square at a random place, class 0 do not; noise on both.
Arrays are streamed into the zip (deflated, zip64), so N x SIDE x SIDE may exceed memory and 2^31.
Needs python3-numpy (Debian: apt-get install -y python3-numpy).
"""
import sys
import zipfile
import numpy as np


def header(dtype, shape):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, str(tuple(shape)).replace(",)", ",)"))
    pad = (64 - (10 + len(h) + 1) % 64) % 64
    h = h + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode("ascii")


def write_split(zf, name, n, side, rng):
    labels = rng.integers(0, 2, size=n, dtype=np.uint8)
    with zf.open(name + "_images.npy", "w", force_zip64=True) as f:
        f.write(header("|u1", (n, side, side)))
        chunk = 2048
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            imgs = rng.integers(20, 90, size=(k, side, side), dtype=np.uint8)
            s = side // 4
            for j in range(k):
                if labels[start + j]:
                    y, x = rng.integers(0, side - s, size=2)
                    imgs[j, y:y + s, x:x + s] = 230
            f.write(imgs.tobytes())
    with zf.open(name + "_labels.npy", "w", force_zip64=True) as f:
        f.write(header("|u1", (n, 1)))
        f.write(labels.reshape(n, 1).tobytes())


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    side = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    val = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    rng = np.random.default_rng(2026)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as zf:
        write_split(zf, "train", n, side, rng)
        write_split(zf, "val", val, side, rng)
    print("wrote", out, n, "training images of", side, "x", side, "and", val, "validation images")


if __name__ == "__main__":
    main()
