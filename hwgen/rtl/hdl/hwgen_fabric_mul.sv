// hwgen RTL library: one product w * x in LUTs, never a DSP48 (hwgen_mvau and hwgen_mvau_ddr with
// MUL_FABRIC = 1). w is signed; x is signed if X_SIGNED. The product is the sum of shifted partial
// products, one per bit of the narrower operand (its sign bit weighs -2^(n-1)), written without
// `*` (which Yosys' synth_xilinx maps to a DSP48E1) and marked (* use_dsp = "no" *) for Vivado
// (UG901, USE_DSP). Continuous assignments only: Verilator 5.48 split a procedural version (block
// temporaries in an unrolled loop) across C++ functions under --output-split-cfuncs and computed
// wrong products in a whole network, while the same module alone simulated correctly.
(* use_dsp = "no" *)
module hwgen_fabric_mul #(
    parameter int WW = 8,
    parameter int XW = 8,
    parameter bit X_SIGNED = 1
) (
    input  logic        [   WW-1:0] w,
    input  logic        [   XW-1:0] x,
    output logic signed [WW+XW:0] p  // WW + XW + 1 bits: an unsigned x gains a sign bit
);
  localparam int PW = WW + XW + 1;
  localparam bit W_NARROW = WW <= XW;  // shift the wider operand by the narrower one's bits
  localparam int N = W_NARROW ? WW : XW;
  localparam bit TOP_NEG = W_NARROW || X_SIGNED;  // the narrower operand's top bit is a sign

  logic signed [PW-1:0] wv, xv, a;
  logic [N-1:0] b;
  assign wv = PW'($signed(w));
  assign xv = PW'($signed({X_SIGNED && x[XW-1], x}));
  assign a  = W_NARROW ? xv : wv;
  if (W_NARROW) begin : g_bw
    assign b = N'(w);
  end else begin : g_bx
    assign b = N'(x);
  end

  // a chain of adders, one generate scope each (an array indexed by its own elements would be
  // one circular signal to Verilator's scheduler)
  for (genvar i = 0; i < N; i++) begin : g_bit
    (* use_dsp = "no" *) logic signed [PW-1:0] term, sum;
    assign term = !b[i] ? '0 : (TOP_NEG && i == N - 1) ? -(a <<< i) : (a <<< i);
    if (i == 0) begin : g_first
      assign sum = term;
    end else begin : g_next
      assign sum = g_bit[i-1].sum + term;
    end
  end
  assign p = g_bit[N-1].sum;
endmodule

