// hwgen RTL library: overflow handling of a fixed-point assignment (ap_fixed's O mode).
//
// x is a signed integer (raw value, any scale); y is its OW-bit raw value in a signed or unsigned
// format under mode OVF, as hwgen.fixed.FixedType._overflow:
//   0 AP_WRAP      keep the low OW bits
//   1 AP_SAT       clamp to [min, max]
//   2 AP_SAT_ZERO  out of range -> 0
//   3 AP_SAT_SYM   clamp to [-max, max] (signed, OW > 1), else as AP_SAT
module hwgen_saturate #(
    parameter int XW = 16,
    parameter int OW = 8,
    parameter bit OSIGNED = 1,
    parameter int OVF = 1
) (
    input  logic signed [XW-1:0] x,
    output logic        [OW-1:0] y
);
  // wide enough for x and for the bounds of the output format
  localparam int EW = (XW > OW + 1 ? XW : OW + 1) + 1;
  localparam logic signed [EW-1:0] ONE = EW'(1);
  localparam logic signed [EW-1:0] HI = OSIGNED ? (ONE <<< (OW - 1)) - ONE : (ONE <<< OW) - ONE;
  localparam logic signed [EW-1:0] LO_FULL = OSIGNED ? -(ONE <<< (OW - 1)) : '0;
  localparam logic signed [EW-1:0] LO = (OVF == 3 && OSIGNED && OW > 1) ? -HI : LO_FULL;

  logic signed [EW-1:0] xe;
  logic below, above;
  assign xe = EW'(x);
  assign below = xe < LO;
  assign above = xe > HI;

  always_comb begin
    if (OVF == 0) y = xe[OW-1:0];
    else if (OVF == 2) y = (below || above) ? '0 : xe[OW-1:0];
    else if (below) y = LO[OW-1:0];
    else if (above) y = HI[OW-1:0];
    else y = xe[OW-1:0];
  end
endmodule
