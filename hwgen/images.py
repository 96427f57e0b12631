"""Images and labels: decode, resize and crop to the network input, apply the model's
preprocessing, read label files."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .errors import HwgenError
from .ir import Preprocess

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")


def load_rgb(path: str | Path, size: int = 224, resize: int = 256) -> np.ndarray:
    """(size, size, 3) uint8 RGB: shorter side resized to ``resize`` (bilinear), centre crop.
    Images already ``size`` x ``size`` are taken as they are. The resize and crop are the board
    driver's own (pynq_driver.preprocess_image), so host and board see the same pixels."""
    from PIL import Image  # noqa: PLC0415

    from .pynq_driver import preprocess_image  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise HwgenError(f"{path}: cannot read image ({exc})") from None
    return preprocess_image(rgb, size, resize).transpose(1, 2, 0).astype(np.uint8)


def preprocess(rgb: np.ndarray, pp: Preprocess) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 network input."""
    x = rgb.astype(np.float32)
    if pp.channel_order == "BGR":
        x = x[:, :, ::-1]
    x = (x - np.asarray(pp.mean, np.float32)) / np.asarray(pp.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def network_input(rgb: np.ndarray, graph) -> np.ndarray:
    """What the graph's input takes for an (H, W, 3) uint8 RGB image: the raw pixels (C, H, W)
    when preprocessing is folded into the first conv, else the preprocessed float tensor."""
    if graph.pixel_input:
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)).astype(np.float32)
    return preprocess(rgb, graph.preprocess)


def list_images(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise HwgenError(f"{d}: no such image folder")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise HwgenError(f"{d}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_labels(path: str | Path, num_classes: int | None = None) -> dict[str, int]:
    """A TSV with header ``file<TAB>label``: file name -> class index (each file once; with
    ``num_classes``, every index in 0..num_classes-1)."""
    p = Path(path)
    if not p.is_file():
        raise HwgenError(f"{p}: no such labels file")
    with p.open(newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        rows = [(reader.line_num, r) for r in reader]
    if not rows or [c.strip().lower() for c in rows[0][1][:2]] != ["file", "label"]:
        raise HwgenError(f"{p}: expected a TSV with header 'file<TAB>label'")
    labels: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for line, r in rows[1:]:
        if not r or not any(c.strip() for c in r):
            continue
        if len(r) < 2 or not r[0].strip():
            raise HwgenError(f"{p}: line {line}: {chr(9).join(r)!r} is not 'file<TAB>class index'")
        name, text = r[0], r[1].strip()
        try:
            label = int(text)
        except ValueError:
            raise HwgenError(f"{p}: line {line} ({name}): label {text!r} is not an integer; "
                             "supported: a class index") from None
        if name in labels:
            raise HwgenError(f"{p}: line {line}: {name} is listed again (first on line "
                             f"{first_line[name]}); supported: each file once")
        if num_classes is not None and not 0 <= label < num_classes:
            raise HwgenError(f"{p}: line {line} ({name}): label {label} is outside the model's "
                             f"{num_classes} classes; supported: 0..{num_classes - 1}")
        labels[name], first_line[name] = label, line
    return labels


def input_size(shape: tuple[int, ...]) -> int:
    c, h, w = shape
    if c != 3 or h != w:
        raise HwgenError(f"model input {list(shape)}: images need a 3 x S x S input")
    return h
