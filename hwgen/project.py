"""What every backend's project holds besides its sources -- the model, its configuration, the test
vectors, the project file -- and a generated project read back for simulation (writing it:
``hwgen.outdir``)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import HwgenError
from .outdir import PROJECT_FILE
from .ir import Graph
from .pynq_driver import to_stream

MODEL_FILE = "model.onnx"  # the normalised float model the project was generated from
CONFIG_FILE = "config.yaml"  # its fully resolved fixed-point configuration
VECTOR_DIR = Path("tb") / "tb_data"
#: the image of the weights that live in DDR (the testbench's DDR, the driver's weight buffer)
DDR_FILE = "ddr_weights.bin"
REQUIRED_META = ("hwgen", "top", "model")  # what every backend writes into PROJECT_FILE


def vector_inputs(graph: Graph, count: int, start: int = 0) -> list[np.ndarray]:
    """Seeded test inputs: random pixels for pixel-input graphs, else random preprocessed values."""
    shape = graph.shape(graph.input)
    out = []
    for i in range(start, start + count):
        rng = np.random.default_rng(1000 + i)
        if graph.pixel_input:
            out.append(rng.integers(0, 256, size=shape).astype(np.float32))
        else:
            out.append((rng.standard_normal(shape) * 50).astype(np.float32))
    return out


def vector_files(graph: Graph, xs, start: int = 0) -> dict[str, bytes]:
    """input_<i>.bin and expected_<i>.bin (raw int32 values in stream order) of each network
    input, numbered from ``start``: the test vectors of every backend's project."""
    from .golden import GoldenModel  # noqa: PLC0415

    golden = GoldenModel(graph)
    files = {}
    for i, x in enumerate(xs, start):
        raw = golden.quantize_input(x)
        files[f"input_{i}.bin"] = to_stream(raw).astype(np.int32).tobytes()
        files[f"expected_{i}.bin"] = to_stream(golden.run(raw)).astype(np.int32).tobytes()
    return files


@dataclass
class Project:
    dir: Path
    meta: dict

    @property
    def top(self) -> str:
        return self.meta["top"]

    @classmethod
    def open(cls, path: str | Path) -> "Project":
        d = Path(path).resolve()  # the testbench runs inside the project: paths must not be relative
        f = d / PROJECT_FILE
        if not f.is_file():
            raise HwgenError(f"{d}: not an hwgen project (no {PROJECT_FILE}); create one with "
                             "`hwgen generate`")
        try:
            meta = json.loads(f.read_text())
        except (ValueError, OSError) as exc:
            raise HwgenError(f"{f}: unreadable ({exc})") from None
        missing = [k for k in REQUIRED_META if not isinstance(meta, dict) or k not in meta]
        if missing:
            raise HwgenError(f"{f}: not written by hwgen generate (no {missing[0]!r}); "
                             "regenerate the project")
        return cls(d, meta)

    def graph(self) -> Graph:
        """The quantised graph, rebuilt from the project's own model and configuration."""
        cached = getattr(self, "_graph", None)
        if cached is None:
            from .api import load_model, quantize_model  # noqa: PLC0415

            cached = load_model(self.dir / MODEL_FILE)
            cached.name = self.meta.get("model", cached.name)
            quantize_model(cached, self.dir / CONFIG_FILE)
            self._graph = cached
        return cached

    def ensure_vectors(self, n: int) -> None:
        folder = self.dir / VECTOR_DIR
        have = sum(1 for i in range(n) if (folder / f"input_{i}.bin").is_file()
                   and (folder / f"expected_{i}.bin").is_file())
        if have == n:
            return
        graph = self.graph()
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in vector_files(graph, vector_inputs(graph, n - have, have), have).items():
            tmp = folder / f".{name}.{os.getpid()}.tmp"  # never a half-written vector
            try:
                tmp.write_bytes(data)
                os.replace(tmp, folder / name)
            finally:
                tmp.unlink(missing_ok=True)

    def first_diverging_layer(self, trace_dir: Path, images: int) -> str | None:
        """Name of the first layer whose C-simulated output differs from the golden model's, on
        any traced image; None when every layer matches."""
        from .golden import GoldenModel  # noqa: PLC0415

        graph = self.graph()
        golden = GoldenModel(graph)
        folder = self.dir / VECTOR_DIR
        traces = {p.stem: np.fromfile(p, dtype=np.int32) for p in trace_dir.glob("*.bin")}
        for i in range(images):
            x = np.fromfile(folder / f"input_{i}.bin", dtype=np.int32)
            chw = x.reshape(*graph.shape(graph.input)[1:], -1).transpose(2, 0, 1)
            want = golden.run(chw, trace=True)
            for node in graph.nodes:
                t = node.outputs[0]
                key = self.meta["trace_names"].get(t)
                if key is None or key not in traces:
                    continue
                size = want[t].size
                got = traces[key][i * size:(i + 1) * size]
                if got.size != size or not np.array_equal(got, to_stream(want[t])):
                    return node.name
        return None

