"""Checking the files a user hands hwgen against their declared schema.

A configuration (``quant/config.py``) and a board (``boards.py``) each declare a JSON Schema;
``jsonschema`` validates it (types are strict: ``true`` is no integer, ``8.5`` no bit width) and a
violation becomes one ``HwgenError`` line naming the file, the key path, the value and what is
allowed. Meanings that need the graph (layer names, divisibility) are checked where the graph is
known, before calibration starts (``api.check_design_inputs``).
"""
from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from .errors import HwgenError
from .fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType

INT = {"type": "integer"}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
BOOL = {"type": "boolean"}
STRING = {"type": "string"}


def enum(*values) -> dict:
    return {"enum": list(values)}


def int_range(lo: int, hi: int | None = None) -> dict:
    return {**INT, "minimum": lo, **({"maximum": hi} if hi is not None else {})}


def mapping(props: dict, required=()) -> dict:
    """A mapping with exactly these keys (each optional unless listed in ``required``)."""
    return {"type": "object", "properties": props, "additionalProperties": False,
            "required": list(required)}


def read_yaml(path: Path, what: str):
    """A YAML file's content; unreadable, non-UTF-8 or malformed files are one clear line."""
    if not path.is_file():
        raise HwgenError(f"{path}: no such {what} file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HwgenError(f"{path}: not UTF-8 text (byte {exc.start}); a {what} file is "
                         "UTF-8 YAML") from None
    except OSError as exc:
        raise HwgenError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HwgenError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "top level"


_KINDS = {"object": "a mapping", "array": "a list", "integer": "an integer", "number": "a number",
          "string": "a string", "boolean": "true or false"}


def _describe(error: jsonschema.ValidationError) -> str:
    """One phrase: the offending value and what is allowed."""
    v, s, value = error.validator, error.schema, error.instance
    if v == "additionalProperties":
        extra = sorted(set(value) - set(s.get("properties", {})), key=str)
        return f"unknown key {extra[0]!r}; supported: {', '.join(s['properties']) or 'none'}"
    if v == "required":
        return f"{error.message}; required: {', '.join(s['required'])}"
    if v == "type":
        return f"{value!r} is not {_KINDS.get(s['type'], s['type'])}"
    if v == "oneOf":
        return f"{value!r} is neither true/false nor a list of numbers"
    if v == "enum":
        return f"{value!r}; supported: {', '.join(map(str, s['enum']))}"
    if v in ("minItems", "maxItems"):
        n = s.get("minItems") if s.get("minItems") == s.get("maxItems") else None
        return f"{value!r} has {len(value)} item(s); supported: " + (
            f"exactly {n}" if n is not None else
            f"at least {s['minItems']}" if v == "minItems" else f"at most {s['maxItems']}")
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bounds = [f"at least {s['minimum']}" if "minimum" in s else "",
                  f"above {s['exclusiveMinimum']}" if "exclusiveMinimum" in s else "",
                  f"at most {s['maximum']}" if "maximum" in s else ""]
        return f"{value!r} is out of range; supported: {' and '.join(b for b in bounds if b)}"
    return error.message


def validate(data, schema: dict, where: str) -> None:
    """Raise one HwgenError line for the most relevant violation of ``schema``."""
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise HwgenError(f"{where}: {_where(error)}: {_describe(error)}")


# ---- the configuration (hwgen config / --config) ------------------------------------------------
#: activation calibration policies (quant/calibrate.py), weight rounding methods (quant/rounding.py)
POLICIES = ("max", "percentile", "mse")
WEIGHT_ROUNDINGS = ("nearest", "gptq")
#: where a conv's weights may live: on chip (BRAM or LUTRAM, the estimator's choice), in BRAM, in
#: LUTRAM, or in DDR (streamed through an AXI4 master port)
WEIGHT_PLACES = ("chip", "bram", "lutram", "ddr")
MULTIPLIERS = ("dsp", "dsp2", "lut")  # dsp2: two products per DSP48 (design/cost.packs_two)
#: settings valid under ``defaults:`` and per layer. Widths: activations and weights up to 16 bits,
#: biases and the logits up to 32, so every accumulator stays well inside the golden model's int64
SETTINGS = {
    "weight_bits": int_range(2, 16),
    "bias_bits": int_range(2, 32),
    "activation_bits": int_range(2, 16),
    "output_bits": int_range(2, 32),
    "rounding": enum(*ROUNDING_MODES),
    "overflow": enum(*OVERFLOW_MODES),
    "calibration": enum(*POLICIES),
    "percentile": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
    "weight_calibration": enum("max", "mse"),
    "weight_granularity": enum("tensor", "channel"),
    "weight_rounding": enum(*WEIGHT_ROUNDINGS),
    "bias_correction": BOOL,
    "bias_correction_images": int_range(1),
    "fold_preprocessing": BOOL,
    "equalize": BOOL,
}
#: a layer's explicit types (Vitis HLS type strings, parsed below)
TYPE_KEYS = ("weight", "bias", "accum", "output")
LAYER = {
    **{k: v for k, v in SETTINGS.items() if k not in ("fold_preprocessing", "equalize")},
    **{k: STRING for k in TYPE_KEYS},
    "weight_offsets": STRING,  # what weight rounding chose (quant/rounding.py encode_offsets)
    # per output channel: fraction bits more than 'weight' (weight_granularity: channel)
    "weight_shift": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 8}},
    "bias_correction": {"oneOf": [BOOL, {"type": "array", "items": {"type": "number"}}]},
}
FOLDING = {"pe": int_range(1), "simd": int_range(1), "weights": enum(*WEIGHT_PLACES),
           "multipliers": enum(*MULTIPLIERS)}
_TRIPLE = {"type": "array", "minItems": 3, "maxItems": 3}
CONFIG = mapping({
    "hwgen": INT,
    "model": STRING,
    "preprocess": mapping({"channel_order": enum("RGB", "BGR", "rgb", "bgr"),
                           "mean": {**_TRIPLE, "items": {"type": "number"}},
                           "std": {**_TRIPLE, "items": POSITIVE}}),
    "defaults": mapping(SETTINGS),
    "layers": {"type": "object", "additionalProperties": mapping(LAYER)},
    "folding": {"type": "object", "additionalProperties": mapping(FOLDING)},
})


def validate_config(cfg, where: str) -> dict:
    """A configuration mapping with every key and value checked (type strings parsed)."""
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):
        raise HwgenError(f"{where}: a configuration is a mapping with keys "
                         f"{', '.join(CONFIG['properties'])}; got {type(cfg).__name__}")
    validate(cfg, CONFIG, where)
    for name, entry in (cfg.get("layers") or {}).items():
        for key in TYPE_KEYS:
            if key in entry:
                try:
                    FixedType.parse(entry[key])
                except HwgenError as exc:
                    raise HwgenError(f"{where}: layers.{name}.{key}: {exc}") from None
    return cfg


# ---- a board (boards/*.yaml, --board FILE) -------------------------------------------------------
RESOURCES = ("dsp", "bram36", "uram", "lut", "ff")
NAME = {"type": "string", "minLength": 1}
BOARD = mapping({
    "name": NAME,
    "part": NAME,
    "board_part": STRING,
    "family": enum("zynq7", "zynqmp"),
    "ps": NAME,
    "clock_mhz": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
    "resources": mapping({r: int_range(0) for r in RESOURCES}, required=RESOURCES),
    "memory": mapping({
        # the DMA takes the first high-performance port; weights in DDR need a second
        "hp_ports": {"type": "array", "items": NAME, "minItems": 1, "uniqueItems": True},
        "hp_width": enum(32, 64, 128),
        "ddr_mbytes": POSITIVE,
        "ddr_gbytes_per_s": POSITIVE,
        # first beat of a read burst after its request, seen from the fabric (boards.py)
        "ddr_read_latency_ns": POSITIVE,
    }, required=("hp_ports", "hp_width", "ddr_gbytes_per_s")),
}, required=("name", "part", "family", "ps", "clock_mhz", "resources", "memory"))


def validate_board(board, where: str) -> dict:
    if not isinstance(board, dict):
        raise HwgenError(f"{where}: a board file is a mapping with keys "
                         f"{', '.join(BOARD['properties'])}")
    validate(board, BOARD, where)
    return board
