// hwgen RTL library: the PE sums of SIMD products of hwgen_mvau and hwgen_mvau_ddr, one step
// (combinational; the MVAU registers them). PE p's lane s multiplies weight
// [(s*PE + p)*WW +: WW] of the PE*SIMD-weight word w by input lane s of x; sum[p*DW +: DW] is
// their exact sum. Three mappings, the same values:
//   MUL_FABRIC = 1: every product in LUTs (hwgen_fabric_dot), never a DSP48;
//   MUL_PACKED = 1: PEs in pairs (p, p + 1; an odd PE's last alone), two products per DSP48:
//     one multiplication a * x with a = w[p+1] * 2^K + w[p], K = WW + XW the width of one signed
//     product; bits [0, K) of it, read signed, are w[p] * x, the bits above are w[p+1] * x minus
//     the borrow of a negative low product, its sign bit. a takes K + WW + 1 bits and x, as a
//     signed number, XW + !X_SIGNED: one 25 x 18 DSP48E1 multiplier (UG479) when
//     2*WW + XW + 1 <= 25 (hwgen.design.cost.packs_two, checked by the generator). FINN packs
//     two PEs into a DSP48E1 the same way (finn-rtllib/mvu/mvu_8sx8u_dsp48.sv); the HLS kernels'
//     conv2d.h detail::mul2 is the same arithmetic;
//   otherwise one `*` per product, which synthesis maps to a DSP48 each.
// Continuous assignments for the per-lane products (see hwgen_fabric_mul on Verilator).
module hwgen_dot #(
    parameter int WW = 8,
    parameter int XW = 8,
    parameter bit X_SIGNED = 1,
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int DW = WW + XW + 2,  // a sum's width (the MVAU's)
    parameter bit MUL_FABRIC = 0,
    parameter bit MUL_PACKED = 0
) (
    input  logic [PE*SIMD*WW-1:0] w,
    input  logic [   SIMD*XW-1:0] x,
    output logic [     PE*DW-1:0] sum
);
  localparam int PW = WW + XW + 1;  // one product, as the plain mapping widens it
  for (genvar pe = 0; pe < PE; pe++) begin : g_pe
    if (MUL_FABRIC) begin : g_fabric
      (* use_dsp = "no" *) logic signed [DW-1:0] s_fab;
      hwgen_fabric_dot #(
          .WW(WW),
          .XW(XW),
          .X_SIGNED(X_SIGNED),
          .PE(PE),
          .SIMD(SIMD),
          .P(pe),
          .DW(DW)
      ) u_dot (
          .w(w),
          .x(x),
          .sum(s_fab)
      );
      assign sum[pe*DW+:DW] = s_fab;
    end else if (MUL_PACKED && pe % 2 == 0 && pe + 1 < PE) begin : g_pair
      localparam int K = WW + XW;  // one signed product
      localparam int AW = K + WW + 1;  // the packed operand
      localparam int BW = XW + (X_SIGNED ? 0 : 1);  // x as a signed number
      localparam int MW = AW + BW;
      logic signed [SIMD*K-1:0] lo, hi;
      for (genvar s = 0; s < SIMD; s++) begin : g_lane
        logic signed [AW-1:0] a;
        logic signed [BW-1:0] b;
        logic signed [MW-1:0] m;
        assign a = (AW'($signed(w[(s*PE+pe+1)*WW+:WW])) <<< K) + AW'($signed(w[(s*PE+pe)*WW+:WW]));
        assign b = BW'($signed({X_SIGNED && x[s*XW+XW-1], x[s*XW+:XW]}));
        assign m = MW'(a) * MW'(b);
        assign lo[s*K+:K] = m[K-1:0];
        assign hi[s*K+:K] = K'(m[MW-1:K] + (MW-K)'(m[K-1]));
      end
      logic signed [DW-1:0] s_lo, s_hi;
      always_comb begin
        s_lo = '0;
        s_hi = '0;
        for (int s = 0; s < SIMD; s++) begin
          s_lo = s_lo + DW'($signed(lo[s*K+:K]));
          s_hi = s_hi + DW'($signed(hi[s*K+:K]));
        end
      end
      assign sum[pe*DW+:DW] = s_lo;
      assign sum[(pe+1)*DW+:DW] = s_hi;
    end else if (MUL_PACKED && pe % 2 == 1) begin : g_pair_hi
      // computed with PE pe - 1 (g_pair)
    end else begin : g_dsp
      logic signed [DW-1:0] s_dsp;
      always_comb begin
        s_dsp = '0;
        for (int s = 0; s < SIMD; s++) begin
          // operands widened first: a product's self-determined width is its widest operand's
          s_dsp = s_dsp + DW'(PW'($signed(w[(s*PE+pe)*WW+:WW])) *
                              PW'($signed({X_SIGNED && x[s*XW+XW-1], x[s*XW+:XW]})));
        end
      end
      assign sum[pe*DW+:DW] = s_dsp;
    end
  end
endmodule
