#!/usr/bin/env python3
"""Load a state dict written by `scripts/resnext export --format torchvision` into PyTorch.

The reverse of scripts/export-torchvision.py. Needs torch, torchvision and numpy (Debian:
apt-get install python3-torch python3-torchvision python3-numpy).

  # a preset with a torchvision twin (resnext50_32x4d, resnext101_32x8d, resnext101_64x4d)
  scripts/npz-to-torchvision.py --npz r50.npz --arch resnext50_32x4d --out r50.pt

  # any model of this project: its configuration from the zip (or a ResNeXtConfig JSON)
  unzip -p model.zip resnext/metadata.json > model.json
  scripts/npz-to-torchvision.py --npz model.npz --config model.json --out model.pt --torchscript

The model is built as scripts/export-torchvision.py builds it (torchvision's ResNet/Bottleneck),
the tensors are loaded strictly (every key and shape; the num_batches_tracked counters, which the
export leaves out, stay 0), and the model is saved in eval mode: its state_dict by default, or a
TorchScript module (traced at the configuration's input size) with --torchscript, which TorchServe
and libtorch load without this script. --check-input X.npy --check-logits L.npy compares the
model's logits on X with L (e.g. written by `scripts/resnext forward`).
"""
import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("export_torchvision", os.path.join(HERE, "export-torchvision.py"))
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)  # exits with one line when torch, torchvision or numpy are missing
np, torch = ex.np, ex.torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npz", required=True, help="state dict from `resnext export --format torchvision`")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--arch", help="torchvision model name, e.g. resnext50_32x4d")
    src.add_argument("--config", metavar="JSON", help="the zip's resnext/metadata.json or a ResNeXtConfig JSON")
    ap.add_argument("--out", required=True, metavar="MODEL.pt", help="where to save")
    ap.add_argument("--torchscript", action="store_true", help="save a traced TorchScript module")
    ap.add_argument("--check-input", metavar="X.npy", help="NCHW input to compare logits on")
    ap.add_argument("--check-logits", metavar="L.npy", help="expected logits for --check-input")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest allowed |difference| (default 1e-4)")
    a = ap.parse_args()

    try:
        with np.load(a.npz) as z:
            sd = {k: torch.from_numpy(np.array(z[k])) for k in z.files}
    except (OSError, ValueError) as e:
        ex.fail(f"cannot read {a.npz}: {e}")
    if "fc.weight" not in sd or "conv1.weight" not in sd:
        ex.fail(f"{a.npz} is not a torchvision ResNet/ResNeXt state dict (no fc.weight or conv1.weight)")
    classes, channels = sd["fc.weight"].shape[0], sd["conv1.weight"].shape[1]
    if a.arch:
        if channels != 3:
            ex.fail(f"the weights take {channels} input channels; torchvision's {a.arch} takes 3: use --config")
        model, chw = ex.arch_model(a.arch, None, classes), (3, 224, 224)
    else:
        model, chw, _ = ex.config_model(a.config)
    want = model.state_dict()
    problems = [f"unexpected tensor '{k}'" for k in sd if k not in want]
    problems += [f"tensor '{k}' has shape {list(v.shape)} but the model needs {list(want[k].shape)}"
                 for k, v in sd.items() if k in want and v.shape != want[k].shape]
    problems += [f"missing tensor '{k}'" for k in want if k not in sd and not k.endswith("num_batches_tracked")]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        ex.fail(f"{a.npz} does not fit the model: {problems[0]}{more}")
    model.load_state_dict(sd, strict=False)
    model.eval()

    if a.check_input or a.check_logits:
        if not (a.check_input and a.check_logits):
            ex.fail("--check-input and --check-logits go together")
        with torch.no_grad():
            got = model(torch.from_numpy(np.load(a.check_input).astype(np.float32))).numpy()
        diff = float(np.abs(got - np.load(a.check_logits)).max())
        print(f"max |logits difference| {diff:.3g}")
        if not diff <= a.tol:
            ex.fail(f"logits differ by {diff:.3g} > {a.tol}")

    tmp = a.out + ".tmp"
    if a.torchscript:
        with torch.no_grad():
            traced = torch.jit.trace(model, torch.zeros(1, *chw))
        traced.save(tmp)
    else:
        torch.save(model.state_dict(), tmp)
    os.replace(tmp, a.out)
    print(f"wrote {a.out} ({'TorchScript' if a.torchscript else 'state_dict'}, {len(sd)} tensors, "
          f"{classes} classes)")


if __name__ == "__main__":
    main()
