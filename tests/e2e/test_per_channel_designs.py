"""Per-channel weight formats end to end in the HLS backend: a reduced SqueezeNet whose channels
differ in range, generated with ``weight_granularity: channel`` and C-simulated bit-exactly."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))  # the test networks
import nets  # noqa: E402
from hwgen.cli import main  # noqa: E402
from hwgen.ops import Conv  # noqa: E402
from hwgen.project import Project  # noqa: E402


def spread_channels(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Each conv's output channels scaled by 1, 1/2 .. 1/16 (seeded): trained networks' channels
    differ in range, seeded ones barely."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                s = torch.pow(2.0, -torch.randint(0, 5, (m.out_channels,), generator=g).float())
                m.weight.mul_(s[:, None, None, None])
                if m.bias is not None:
                    m.bias.mul_(s)
    return model


def test_reduced_squeezenet_per_channel_csim_bit_exact(tmp_path, capsys):
    model = nets.export(spread_channels(nets.reduced_squeezenet(4)), (3, 40, 40),
                        tmp_path / "sq.onnx")
    cfg = tmp_path / "channel.yaml"
    cfg.write_text(yaml.safe_dump({"defaults": {"weight_granularity": "channel",
                                                "equalize": False}}))
    out = tmp_path / "p"
    assert main(["generate", str(model), "-o", str(out), "--config", str(cfg),
                 "--vectors", "3"]) == 0
    graph = Project.open(out).graph()
    convs = [n for n in graph.nodes if isinstance(n.op, Conv)]
    shifted = [n for n in convs if n.op.max_shift > 0]
    assert len(shifted) >= len(convs) - 2  # nearly every layer really has per-channel formats
    params = (out / "firmware" / "parameters.h").read_text()
    emitted = [int(v) for v in re.findall(r"MAX_SHIFT = (\d+);", params)]
    assert sorted(emitted) == sorted(n.op.max_shift for n in convs)
    capsys.readouterr()
    assert main(["csim", str(out), "--images", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mismatches"] == 0
