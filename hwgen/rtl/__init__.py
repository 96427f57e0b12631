"""The RTL backend: a SystemVerilog library (``hdl/``), a generator that wires a whole network as
the design (hwgen.design) says -- folding, stream packing, FIFO depths --, and a cocotb harness
that checks it against the golden model cycle by cycle (``hwgen rtlsim``)."""
