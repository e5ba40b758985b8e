#!/usr/bin/env python3
"""Exports torchvision's resnext50_32x4d (or resnext101_32x8d / resnext101_64x4d), random weights
with a fixed seed, to ONNX (opset 17, dynamic batch) for the ONNX Runtime column of
scripts/bench-vs-pytorch.sh. Usage: export-torchvision-onnx.py MODEL SIZE OUT.onnx"""
import sys

import torch
import torchvision

model_name, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
model = getattr(torchvision.models, model_name)().eval()
x = torch.randn(1, 3, size, size)
torch.onnx.export(model, x, out, opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
print(out)
