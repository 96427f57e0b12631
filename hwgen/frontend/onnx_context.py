"""A read-only view of one ONNX node for the ops' readers: attributes, constants and shapes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx


@dataclass
class OnnxNode:
    proto: onnx.NodeProto
    name: str
    constants: dict[str, np.ndarray]  # initializers after constant folding
    shapes: dict[str, tuple]  # value name -> inferred shape (batch included)
    opset: int

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def inputs(self) -> list[str]:
        return list(self.proto.input)

    @property
    def outputs(self) -> list[str]:
        return list(self.proto.output)

    def attr(self, name: str, default: Any = None) -> Any:
        for a in self.proto.attribute:
            if a.name == name:
                v = onnx.helper.get_attribute_value(a)
                return v.decode() if isinstance(v, bytes) else v
        return default

    def constant(self, i: int) -> np.ndarray | None:
        if i >= len(self.proto.input):
            return None
        return self.constants.get(self.proto.input[i])

    def input_shape(self, i: int) -> tuple | None:
        """The inferred shape of input ``i``; None when the input is absent or its shape unknown."""
        if i >= len(self.proto.input) or not self.proto.input[i]:
            return None
        return self.shapes.get(self.proto.input[i])

    def output_shape(self, i: int) -> tuple | None:
        if i >= len(self.proto.output) or not self.proto.output[i]:
            return None
        return self.shapes.get(self.proto.output[i])
