// Test bench top: hwgen_requant in every rounding x overflow mode, for a signed and an unsigned
// output, plus ReLU, an accumulator cast and a left shift, all on the same input x.
module requant_bank #(
    parameter int XW = 12,
    parameter int SHIFT = 3,
    parameter int OW = 6
) (
    input  logic signed [XW-1:0] x,
    output logic [7*4*OW-1:0] y_signed,  // index (rnd*4 + ovf)
    output logic [7*4*OW-1:0] y_unsigned,
    output logic [OW-1:0] y_relu,  // AP_RND, AP_SAT, signed, with ReLU
    output logic [OW-1:0] y_acc,  // accumulator cast to 9-bit signed AP_SAT first, then AP_TRN/AP_WRAP
    output logic [XW+1:0] y_left  // SHIFT = -2: exact left shift into XW+2 bits, AP_WRAP
);
  for (genvar r = 0; r < 7; r++) begin : g_rnd
    for (genvar o = 0; o < 4; o++) begin : g_ovf
      hwgen_requant #(.XW(XW), .SHIFT(SHIFT), .RND(r), .OW(OW), .OSIGNED(1), .OVF(o)) u_s (
          .x(x), .shift(1'b0), .y(y_signed[(r*4+o)*OW+:OW]));
      hwgen_requant #(.XW(XW), .SHIFT(SHIFT), .RND(r), .OW(OW), .OSIGNED(0), .OVF(o)) u_u (
          .x(x), .shift(1'b0), .y(y_unsigned[(r*4+o)*OW+:OW]));
    end
  end
  hwgen_requant #(.XW(XW), .SHIFT(SHIFT), .RND(2), .OW(OW), .OSIGNED(1), .OVF(1), .RELU(1)) u_relu (
      .x(x), .shift(1'b0), .y(y_relu));
  hwgen_requant #(.XW(XW), .ACC_CAST(1), .ACC_W(9), .ACC_SIGNED(1), .ACC_OVF(1), .SHIFT(SHIFT),
                  .RND(0), .OW(OW), .OSIGNED(1), .OVF(0)) u_acc (.x(x), .shift(1'b0), .y(y_acc));
  hwgen_requant #(.XW(XW), .SHIFT(-2), .RND(0), .OW(XW + 2), .OSIGNED(1), .OVF(0)) u_left (
      .x(x), .shift(1'b0), .y(y_left));
endmodule
