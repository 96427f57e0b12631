"""Fixed-point formats for a graph: configuration, calibration, resolution."""
from .calibrate import POLICIES, TensorStats
from .config import (DEFAULTS, collect_stats, dump_config, load_config, quantize,
                     resolved_config)

__all__ = ["POLICIES", "TensorStats", "DEFAULTS", "collect_stats", "dump_config", "load_config",
           "quantize", "resolved_config"]
