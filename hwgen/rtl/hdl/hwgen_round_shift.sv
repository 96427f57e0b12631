// hwgen RTL library: drop SHIFT fraction bits of a signed integer with ap_fixed's rounding (Q mode).
//
// y = x / 2**SHIFT rounded by MODE, exactly as hwgen.fixed.shift_round (SHIFT > 0); SHIFT <= 0 is
// an exact left shift. MODE is the index in hwgen.fixed.ROUNDING_MODES:
//   0 AP_TRN (floor)  1 AP_TRN_ZERO  2 AP_RND (half up)  3 AP_RND_ZERO  4 AP_RND_MIN_INF
//   5 AP_RND_INF  6 AP_RND_CONV (half to even)
// YW is the result width (computed by the caller: XW - SHIFT + 1 when SHIFT > 0, XW - SHIFT else).
module hwgen_round_shift #(
    parameter int XW = 16,
    parameter int SHIFT = 0,
    parameter int MODE = 0,
    parameter int YW = 17
) (
    input  logic signed [XW-1:0] x,
    output logic signed [YW-1:0] y
);
  if (SHIFT <= 0) begin : g_left
    assign y = YW'(x) <<< (-SHIFT);
  end else begin : g_round
    // sign-extend so that the shift leaves at least two bits (a sign and one more)
    localparam int EW = (XW > SHIFT + 1 ? XW : SHIFT + 1) + 1;
    logic signed [EW-1:0] xe, fl;
    logic [SHIFT-1:0] rem;
    localparam logic [SHIFT-1:0] HALF = SHIFT'(1) << (SHIFT - 1);
    logic neg, rem_zero, is_half, above, odd, up;
    assign xe = EW'(x);
    assign fl = xe >>> SHIFT;
    assign rem = xe[SHIFT-1:0];
    assign neg = xe[EW-1];
    assign rem_zero = rem == '0;
    assign is_half = rem == HALF;
    assign above = rem[SHIFT-1] && !is_half;
    assign odd = fl[0];
    always_comb begin
      case (MODE)
        0: up = 1'b0;
        1: up = neg && !rem_zero;
        2: up = rem[SHIFT-1];
        3: up = above || (is_half && neg);
        4: up = above;
        5: up = above || (is_half && !neg);
        default: up = above || (is_half && odd);
      endcase
    end
    assign y = YW'(fl) + YW'(up);
    // fl's top bits only repeat its sign
    logic unused_sign;
    assign unused_sign = ^fl[EW-1:YW];
  end
endmodule
