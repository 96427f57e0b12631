// hwgen RTL library: the sum of SIMD products in LUTs (hwgen_fabric_mul) for one PE, the dot
// product of hwgen_mvau and hwgen_mvau_ddr with MUL_FABRIC = 1. Lane s multiplies weight
// [(s*PE + P)*WW +: WW] of the PE*SIMD-weight word w by input lane s of x.
module hwgen_fabric_dot #(
    parameter int WW = 8,
    parameter int XW = 8,
    parameter bit X_SIGNED = 1,
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int P = 0,  // this PE
    parameter int DW = WW + XW + 2  // the sum's width (the MVAU's)
) (
    // the whole weight word of all PEs: this PE takes its lanes, the others pass by
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic        [PE*SIMD*WW-1:0] w,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic        [   SIMD*XW-1:0] x,
    output logic signed [        DW-1:0] sum
);
  localparam int PW = WW + XW + 1;
  logic signed [SIMD*PW-1:0] prod;
  for (genvar s = 0; s < SIMD; s++) begin : g_lane
    hwgen_fabric_mul #(
        .WW(WW),
        .XW(XW),
        .X_SIGNED(X_SIGNED)
    ) u_mul (
        .w(w[(s*PE+P)*WW+:WW]),
        .x(x[s*XW+:XW]),
        .p(prod[s*PW+:PW])
    );
  end
  always_comb begin
    sum = '0;
    for (int s = 0; s < SIMD; s++) sum = sum + DW'($signed(prod[s*PW+:PW]));
  end
endmodule
