"""Small networks for the RTL tests and measurements: a reduced SqueezeNet 1.1 (same topology,
fewer channels, small input) and single Fire modules of SqueezeNet 1.1 at full width."""
from __future__ import annotations

import io
from pathlib import Path

import onnx
import torch
from torch import nn

from hwgen.frontend.torch_squeezenet import BYPASSED_FIRES, Fire, SqueezeNet, _quiet

#: SqueezeNet 1.1's Fire modules: (input channels, squeeze, expand1x1, expand3x3, input size at 224)
FIRES_1_1 = {"fire2": (64, 16, 64, 64, 55), "fire3": (128, 16, 64, 64, 55),
             "fire4": (128, 32, 128, 128, 27), "fire5": (256, 32, 128, 128, 27),
             "fire6": (256, 48, 192, 192, 13), "fire7": (384, 48, 192, 192, 13),
             "fire8": (384, 64, 256, 256, 13), "fire9": (512, 64, 256, 256, 13)}


def _seeded_biases(model: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) - 0.5) * 0.2)


def reduced_squeezenet(div: int = 4, num_classes: int = 10, seed: int = 0, bypass: str = "none",
                       bypass_bias: bool = True, bypass_relu: bool = False) -> nn.Module:
    """SqueezeNet 1.1 with every channel count divided by ``div``: conv1, three max pools, eight
    Fire modules, the classifier conv and the global average pool, as in the original; with
    the paper's ``bypass`` ("simple" or "complex") around its Fire modules."""
    torch.manual_seed(seed)
    model = SqueezeNet("1_1", num_classes=num_classes)
    pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
    c = lambda n: max(n // div, 1)  # noqa: E731
    fires = [Fire(c(a), c(s), c(e1), c(e3), bypass=int(name[4:]) in BYPASSED_FIRES[bypass],
                  bypass_bias=bypass_bias, bypass_relu=bypass_relu)
             for name, (a, s, e1, e3, _) in FIRES_1_1.items()]
    model.features = nn.Sequential(nn.Conv2d(3, c(64), kernel_size=3, stride=2),
                                   nn.ReLU(inplace=True), pool(), *fires[:2], pool(),
                                   *fires[2:4], pool(), *fires[4:])
    model.classifier = nn.Sequential(nn.Dropout(p=0.5), nn.Conv2d(c(512), num_classes, 1),
                                     nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))
    _seeded_biases(model, seed + 1)
    return model.eval()


def fire_module(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, int, int]]:
    """One full-width Fire module of SqueezeNet 1.1 and its (C, H, W) input at 224x224."""
    a, s, e1, e3, size = FIRES_1_1[name]
    torch.manual_seed(seed)
    model = Fire(a, s, e1, e3)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight)
    _seeded_biases(model, seed + 1)
    return model.eval(), (a, size, size)


def export(model: nn.Module, shape: tuple[int, int, int], path: str | Path) -> Path:
    """ONNX (opset 13, TorchScript exporter) of ``model`` on a (1, *shape) input."""
    buf = io.BytesIO()
    with torch.no_grad(), _quiet():
        torch.onnx.export(model, (torch.zeros(1, *shape),), buf, dynamo=False, opset_version=13,
                          input_names=["input"], output_names=["logits"])
    onnx.save_model(onnx.load_from_string(buf.getvalue()), str(path))
    return Path(path)


class TinyCnn(nn.Module):
    """Every RTL module but the Fire plumbing, with odd sizes: a strided padded 3x3 conv, a
    padded ceil-mode max pool, 1x1 and 3x3 convs, global average pooling."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.c1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.c2 = nn.Conv2d(6, 12, 1)
        self.c3 = nn.Conv2d(12, 8, 3, padding=1)
        self.c4 = nn.Conv2d(8, 6, 1)
        self.gap = nn.AdaptiveAvgPool2d((1, 1))
        _seeded_biases(self, seed + 1)

    def forward(self, x):
        x = self.pool(torch.relu(self.c1(x)))
        x = torch.relu(self.c3(torch.relu(self.c2(x))))
        return torch.flatten(self.gap(torch.relu(self.c4(x))), 1)
