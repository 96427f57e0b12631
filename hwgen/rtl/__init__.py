"""The RTL backend: a SystemVerilog library (``hdl/``), a generator that wires a whole network
from the HLS backend's folding and stream packing, and a cocotb harness that checks it against
the golden model cycle by cycle (``hwgen rtlsim``)."""
