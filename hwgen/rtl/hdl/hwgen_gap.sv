// hwgen RTL library: global average pooling (pool.h global_avgpool).
//
// sum[c] = the exact sum over the IN_H*IN_W pixels (SUMW bits); during the last pixel each word
// leaves as (sum * RECIP) cast to the output format, RECIP the unsigned RECIP_BITS-bit constant
// nearest to 1/(IN_H*IN_W) (hwgen.ops.GlobalAvgPool.reciprocal; its fraction is folded into SHIFT).
// One input word per cycle; the output is the (C,) vector, C/LANES words.
module hwgen_gap #(
    parameter int W = 8,
    parameter bit SIGNED = 1,
    parameter int C = 1,
    parameter int LANES = 1,
    parameter int PIXELS = 4,
    parameter int SUMW = 12,
    parameter int RECIP_BITS = 16,
    parameter logic [RECIP_BITS-1:0] RECIP = '1,
    // output cast (hwgen_requant)
    parameter int SHIFT = 0,
    parameter int RND = 0,
    parameter int OW = 8,
    parameter bit OSIGNED = 1,
    parameter int OVF = 1
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                in_valid,
    output logic                in_ready,
    input  logic [LANES*W-1:0]  in_data,
    output logic                out_valid,
    input  logic                out_ready,
    output logic [LANES*OW-1:0] out_data
);
  localparam int CW = C / LANES;
  localparam int PRODW = SUMW + RECIP_BITS + 1;
  localparam int CWW = $clog2(CW) > 0 ? $clog2(CW) : 1;
  localparam int PXW = $clog2(PIXELS) > 0 ? $clog2(PIXELS) : 1;

  logic [LANES*SUMW-1:0] acc[CW];
  logic [LANES*SUMW-1:0] s;
  logic [LANES*OW-1:0] y;
  logic [CWW-1:0] cw;
  logic [PXW-1:0] pix;
  logic en, take, last;
  assign en = !out_valid || out_ready;
  assign in_ready = en;
  assign take = in_valid && en;
  assign last = pix == PXW'(PIXELS - 1);

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    logic signed [SUMW-1:0] prev;
    logic signed [PRODW-1:0] prod;
    assign prev = pix == '0 ? '0 : $signed(acc[cw][l*SUMW+:SUMW]);
    assign s[l*SUMW+:SUMW] = prev + SUMW'($signed({SIGNED && in_data[l*W+W-1], in_data[l*W+:W]}));
    assign prod = PRODW'($signed(s[l*SUMW+:SUMW])) * PRODW'($signed({1'b0, RECIP}));
    hwgen_requant #(
        .XW(PRODW),
        .SHIFT(SHIFT),
        .RND(RND),
        .OW(OW),
        .OSIGNED(OSIGNED),
        .OVF(OVF)
    ) u_cast (
        .x(prod),
        .shift(1'b0),
        .y(y[l*OW+:OW])
    );
  end

  always_ff @(posedge clk) begin
    if (take) acc[cw] <= s;
    if (take && last) out_data <= y;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cw <= '0;
      pix <= '0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= in_valid && last;
      if (in_valid) begin
        if (cw == CWW'(CW - 1)) begin
          cw <= '0;
          pix <= last ? '0 : pix + 1'b1;
        end else cw <= cw + 1'b1;
      end
    end
  end
endmodule
