#!/usr/bin/env python3
"""Export a torchvision ResNeXt's state_dict to .npz for `scripts/resnext import-torchvision`.

Needs torch, torchvision and numpy (Debian: apt-get install python3-torch python3-torchvision).

  # torchvision architecture, ImageNet weights (downloads them: needs internet)
  scripts/export-torchvision.py --arch resnext50_32x4d --weights IMAGENET1K_V2 --out r50.npz

  # the same architecture with random weights (works offline), plus an input and its logits
  scripts/export-torchvision.py --arch resnext50_32x4d --out r50.npz --io r50_io.npz --random-bn

  # any configuration of this project (a ResNeXtConfig JSON, e.g. written by `resnext info --json`)
  scripts/export-torchvision.py --config model.json --out model.npz --io model_io.npz --random-bn

  # your own PyTorch checkpoint (torch.save of a state_dict) of a torchvision architecture
  scripts/export-torchvision.py --arch resnext50_32x4d --classes 2 --state-dict finetuned.pth --out ft.npz

The state .npz holds every state_dict tensor as float32, keyed by its PyTorch name
(conv1.weight, bn1.running_var, layer1.0.conv2.weight, fc.bias, ...); the int64
`num_batches_tracked` counters are kept as 0-d int64 arrays (the importer ignores them) unless
--drop-nbt is given. The optional --io .npz holds `input` [N,C,H,W] (N(0,1), seeded), `logits`
(float32 eval-mode forward), `logits_f64` (the same weights in float64) and activations:
act.stem (after the max pool, or after the stem ReLU for the CIFAR stem), act.layer1.0 (first
block), act.layerS (every stage S), act.pooled ([N, C] after global average pooling).

--random-bn makes the BatchNorm layers non-trivial, so that a check of the import can catch a
swapped mean/variance or weight/bias: weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2), running
statistics measured on random batches in training mode, then moved a little so that they differ
from any batch's own statistics.
"""
import argparse
import copy
import hashlib
import json
import os
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torchvision
    from torchvision.models.resnet import Bottleneck, ResNet
except ImportError as e:  # keep the message to one line, as the Java commands do
    sys.exit(f"error: {e}; install torch, torchvision and numpy (Debian: apt-get install python3-torch "
             f"python3-torchvision python3-numpy)")


def fail(msg):
    sys.exit("error: " + msg)


# ------------------------------------------------------------------------------------ models

class ConfigResNeXt(nn.Module):
    """A torchvision-structured ResNeXt built from this project's configuration JSON.

    Same module names as torchvision's ResNet (conv1, bn1, layerS.B.{conv1..3,bn1..3,downsample},
    fc), torchvision's Bottleneck (stride on the 3x3, groups = cardinality), so that the state_dict
    keys are torchvision's. Adds what torchvision hard-codes: stem kind and width, per-stage planes,
    any number of stages.
    """

    def __init__(self, stem, stem_width, depths, planes, cardinality, base_width, in_channels, classes):
        super().__init__()
        imagenet = stem == "IMAGENET"
        k, s, p = (7, 2, 3) if imagenet else (3, 1, 1)
        self.conv1 = nn.Conv2d(in_channels, stem_width, kernel_size=k, stride=s, padding=p, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        # the CIFAR stem has no pooling; Identity keeps the forward code the same and adds no keys
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if imagenet else nn.Identity()
        inplanes = stem_width
        self.stage_names = []
        for i, (depth, pl) in enumerate(zip(depths, planes)):
            out = pl * Bottleneck.expansion
            blocks = []
            for b in range(depth):
                stride = 2 if i > 0 and b == 0 else 1
                down = None
                if b == 0 and (stride != 1 or inplanes != out):
                    down = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
                blocks.append(Bottleneck(inplanes, pl, stride=stride, downsample=down, groups=cardinality,
                                         base_width=base_width))
                inplanes = out
            name = f"layer{i + 1}"
            setattr(self, name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(inplanes, classes)
        # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return forward_with_acts(self, x)[0]


def stage_names(model):
    names = getattr(model, "stage_names", None)
    return names if names else [n for n in ("layer1", "layer2", "layer3", "layer4") if hasattr(model, n)]


def forward_with_acts(model, x):
    """Eval forward of a torchvision ResNet (or ConfigResNeXt), collecting the checked activations."""
    acts = {}
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    acts["act.stem"] = x
    for i, name in enumerate(stage_names(model)):
        layer = getattr(model, name)
        for b, block in enumerate(layer):
            x = block(x)
            if i == 0 and b == 0:
                acts["act.layer1.0"] = x
        acts["act." + name] = x
    x = torch.flatten(model.avgpool(x), 1)
    acts["act.pooled"] = x
    return model.fc(x), acts


def config_model(path):
    """Builds ConfigResNeXt from a ResNeXtConfig JSON; returns (model, (C, H, W), name)."""
    try:
        with open(path) as f:
            c = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read configuration {path}: {e}")
    if isinstance(c.get("config"), dict):  # `resnext info --json` nests the configuration
        c = c["config"]
    # defaults of ResNeXtConfig.Builder (torchvision's resnext50_32x4d)
    g = lambda k, d: c.get(k, d)
    if g("expansion", 4) != Bottleneck.expansion:
        fail(f"expansion {g('expansion', 4)} is not torchvision's Bottleneck.expansion ({Bottleneck.expansion})")
    stem = str(g("stem", "IMAGENET")).upper()
    if stem not in ("IMAGENET", "CIFAR"):
        fail(f"unknown stem '{stem}' in {path}")
    depths, planes = list(g("stageDepths", [3, 4, 6, 3])), list(g("stagePlanes", [64, 128, 256, 512]))
    if len(depths) != len(planes):
        fail(f"stageDepths and stagePlanes differ in length in {path}")
    model = ConfigResNeXt(stem, g("stemWidth", 64), depths, planes, g("cardinality", 32), g("baseWidth", 4),
                          g("inputChannels", 3), g("numClasses", 1000))
    return model, (g("inputChannels", 3), g("inputHeight", 224), g("inputWidth", 224)), g("name", "custom")


def arch_model(arch, weights, classes):
    """torchvision architecture by name, with pretrained weights or random ones."""
    builder = getattr(torchvision.models, arch, None)
    if builder is None or not callable(builder):
        fail(f"torchvision {torchvision.__version__} has no model '{arch}'")
    kw = {}
    if weights:
        if classes is not None and classes != 1000:
            fail("pretrained weights have 1000 classes; leave out --classes (replace the head when fine-tuning)")
        kw["weights"] = weights
    else:
        kw["weights"] = None
        if classes is not None:
            kw["num_classes"] = classes
    try:
        model = builder(**kw)
    except (ValueError, KeyError) as e:
        fail(f"weights '{weights}' are not available for {arch}: {e}")
    except Exception as e:  # downloads: URLError, HTTPError, ...
        fail(f"cannot get weights '{weights}' for {arch} (needs internet or a cached copy in "
             f"{torch.hub.get_dir()}): {e}")
    if not isinstance(model, ResNet) or not all(isinstance(b, Bottleneck) for b in model.layer1):
        fail(f"'{arch}' is not a bottleneck ResNet/ResNeXt; the importer maps those only")
    return model


def load_checkpoint(model, path):
    """Loads a saved state_dict into model, strictly (every key, every shape)."""
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:
        fail(f"cannot load {path}: {e}")
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for k in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"{path} holds no state_dict (a dict of tensor names to tensors)")
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel
        obj = {k[len("module."):]: v for k, v in obj.items()}
    # name the first offending key in one line (PyTorch's own message lists every one of them)
    want = model.state_dict()
    problems = [f"unexpected tensor '{k}'" for k in obj if k not in want]
    problems += [f"tensor '{k}' has shape {list(v.shape)} but the model needs {list(want[k].shape)}"
                 for k, v in obj.items() if k in want and v.shape != want[k].shape]
    problems += [f"missing tensor '{k}'" for k in want if k not in obj and not k.endswith("num_batches_tracked")]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        fail(f"{path} does not fit the model: {problems[0]}{more}")
    model.load_state_dict(obj, strict=False)


# ------------------------------------------------------------------------------------ BN statistics

def randomize_bn(model, input_chw, generator_seed):
    """Non-trivial BN parameters and running statistics (see module doc)."""
    g = torch.Generator().manual_seed(generator_seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=g) + 0.5)
            bn.bias.copy_((torch.rand(bn.bias.shape, generator=g) - 0.5) * 0.4)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        c, h, w = input_chw
        for _ in range(3):
            model(torch.randn(4, c, h, w, generator=g))
        for bn in bns:
            bn.momentum = 0.1
            std = bn.running_var.sqrt()
            bn.running_mean.add_(0.1 * std * torch.randn(bn.running_mean.shape, generator=g))
            bn.running_var.mul_(0.7 + 0.6 * torch.rand(bn.running_var.shape, generator=g))
    model.eval()


# ------------------------------------------------------------------------------------ main

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_npz(path, arrays):
    """np.savez to a temporary file, then rename: never a half-written file under the real name."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_input(s):
    try:
        parts = [int(p) for p in s.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3) or min(parts) < 1:
        fail(f"--input '{s}' must look like HxWxC, e.g. 224x224x3")
    h, w = parts[0], parts[1]
    c = parts[2] if len(parts) == 3 else 3
    return c, h, w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--arch", help="torchvision model name, e.g. resnext50_32x4d, resnext101_32x8d, "
                                    "resnext101_64x4d (also resnet50, wide_resnet50_2: cardinality 1)")
    src.add_argument("--config", metavar="JSON", help="this project's model configuration (ResNeXtConfig JSON)")
    ap.add_argument("--weights", default=None, help="torchvision weights for --arch, e.g. IMAGENET1K_V2, "
                                                    "IMAGENET1K_V1, DEFAULT (default: random initialisation)")
    ap.add_argument("--classes", type=int, default=None, help="classes of a randomly initialised --arch model")
    ap.add_argument("--state-dict", metavar="FILE.pth", help="load these weights (torch.save of a state_dict, "
                                                              "or of a dict holding one under 'state_dict' or "
                                                              "'model') into the --arch/--config model")
    ap.add_argument("--out", required=True, metavar="STATE.npz", help="state_dict output")
    ap.add_argument("--io", metavar="IO.npz", help="also write an input, its logits and activations")
    ap.add_argument("--input", metavar="HxWxC", help="input size for --io (default: the configuration's, "
                                                     "224x224x3 for --arch)")
    ap.add_argument("--batch", type=int, default=2, help="examples in the --io input (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")
    ap.add_argument("--input-seed", type=int, default=1234, help="seed of the --io input (default 1234)")
    ap.add_argument("--random-bn", action="store_true", help="non-trivial BN parameters and statistics")
    ap.add_argument("--drop-nbt", action="store_true", help="leave out the num_batches_tracked counters")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.batch < 1:
        fail("--batch must be positive")
    if a.config and (a.weights or a.classes is not None):
        fail("--weights and --classes go with --arch; a --config model has random weights and its own numClasses")
    weights = None if a.weights in (None, "", "none", "None") else a.weights

    torch.manual_seed(a.seed)
    if a.config:
        model, chw, name = config_model(a.config)
    else:
        model, chw, name = arch_model(a.arch, weights, a.classes), (3, 224, 224), a.arch
    if a.input:
        chw = parse_input(a.input)
    if a.state_dict:
        if weights:
            fail("give --weights or --state-dict, not both")
        load_checkpoint(model, a.state_dict)
    if a.random_bn:
        if weights or a.state_dict:
            fail("--random-bn would overwrite the loaded BN statistics")
        randomize_bn(model, chw, a.seed + 1)
    model.eval()

    sd = model.state_dict()
    arrays = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            if not a.drop_nbt:
                arrays[k] = np.asarray(v.item(), dtype=np.int64)
            continue
        arrays[k] = np.ascontiguousarray(v.detach().cpu().numpy().astype(np.float32))
    save_npz(a.out, arrays)
    report = {"model": name, "torch": torch.__version__, "torchvision": torchvision.__version__,
              "weights": weights or a.state_dict or "random (seed %d)" % a.seed, "randomBn": a.random_bn,
              "tensors": len(arrays), "parameters": sum(p.numel() for p in model.parameters()),
              "files": {a.out: {"bytes": os.path.getsize(a.out), "sha256": sha256(a.out)}}}

    if a.io:
        c, h, w = chw
        x = torch.randn(a.batch, c, h, w, generator=torch.Generator().manual_seed(a.input_seed))
        with torch.no_grad():
            logits, acts = forward_with_acts(model, x)
            logits64 = forward_with_acts(copy.deepcopy(model).double(), x.double())[0]
        io = {"input": x.numpy(), "logits": logits.numpy(), "logits_f64": logits64.float().numpy()}
        io.update({k: v.float().numpy() for k, v in acts.items()})
        save_npz(a.io, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in io.items()})
        report["io"] = {k: list(v.shape) for k, v in io.items()}
        report["logits_sample0"] = [round(float(v), 6) for v in logits[0, :5]]
        report["f32_vs_f64_max_abs"] = float((logits.double() - logits64).abs().max())
        report["files"][a.io] = {"bytes": os.path.getsize(a.io), "sha256": sha256(a.io)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
