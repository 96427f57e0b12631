// hwgen RTL library: the output cast of a layer, bit-exact with the golden model.
//
//   v = x                                       signed, XW bits, at the accumulator's fraction
//   if ACC_CAST: v = acc format (ACC_W bits, ACC_SIGNED, overflow ACC_OVF)   -- only when the
//                accumulator format can overflow (hwgen.ops.Conv.accum_can_overflow)
//   if RELU:     v = max(v, 0)
//   if ALIGN:    v = v << (ALIGN - shift)       -- per-channel weight formats (hwgen.ops.Conv
//                weight_shift): the channel's value, `shift` (<= ALIGN) fraction bits finer than
//                the accumulator format says, aligned exactly on the finest channel's fraction
//   y = out format: drop SHIFT fraction bits rounding by RND (hwgen_round_shift), then overflow
//       OVF into OW bits (hwgen_saturate)       -- hwgen.fixed.FixedType.cast
// Mode numbers: indices in hwgen.fixed.ROUNDING_MODES / OVERFLOW_MODES. Combinational.
// ALIGN = 0 (one format per tensor): `shift` is ignored and the logic is exactly the cast above.
module hwgen_requant #(
    parameter int XW = 16,
    parameter bit ACC_CAST = 0,
    parameter int ACC_W = 16,
    parameter bit ACC_SIGNED = 1,
    parameter int ACC_OVF = 0,
    parameter bit RELU = 0,
    parameter int SHIFT = 0,
    parameter int RND = 0,
    parameter int OW = 8,
    parameter bit OSIGNED = 1,
    parameter int OVF = 1,
    parameter int ALIGN = 0,  // the largest per-channel shift (0: none)
    parameter int SW = ALIGN > 0 ? $clog2(ALIGN + 1) : 1  // bits of `shift`
) (
    input  logic signed [XW-1:0] x,
    input  logic        [SW-1:0] shift,  // this channel's extra fraction bits (ALIGN > 0)
    output logic        [OW-1:0] y
);
  localparam int VW = (ACC_CAST && ACC_W + 1 > XW) ? ACC_W + 1 : XW;
  localparam int AW = VW + ALIGN;  // the aligned value: exact
  localparam int RW = SHIFT > 0 ? AW - SHIFT + 1 : AW - SHIFT;

  logic signed [VW-1:0] v, a;
  logic signed [AW-1:0] al;
  logic signed [RW-1:0] r;

  if (ACC_CAST) begin : g_acc
    logic [ACC_W-1:0] acc_raw;
    hwgen_saturate #(
        .XW(XW),
        .OW(ACC_W),
        .OSIGNED(ACC_SIGNED),
        .OVF(ACC_OVF)
    ) u_acc (
        .x(x),
        .y(acc_raw)
    );
    // read the raw bits back as a number of the accumulator format
    assign v = ACC_SIGNED ? VW'($signed(acc_raw)) : VW'($signed({1'b0, acc_raw}));
  end else begin : g_noacc
    assign v = VW'(x);
  end

  assign a = (RELU && v < 0) ? '0 : v;

  if (ALIGN > 0) begin : g_align
    // (a << ALIGN) >>> shift: its low ALIGN bits are zero, so the right shift drops none
    assign al = (AW'(a) <<< ALIGN) >>> shift;
  end else begin : g_noalign
    assign al = a;
    logic unused_shift;
    assign unused_shift = ^shift;
  end

  hwgen_round_shift #(
      .XW(AW),
      .SHIFT(SHIFT),
      .MODE(RND),
      .YW(RW)
  ) u_round (
      .x(al),
      .y(r)
  );
  hwgen_saturate #(
      .XW(RW),
      .OW(OW),
      .OSIGNED(OSIGNED),
      .OVF(OVF)
  ) u_out (
      .x(r),
      .y(y)
  );
endmodule
