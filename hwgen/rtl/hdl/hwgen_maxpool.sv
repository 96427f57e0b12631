// hwgen RTL library: max pooling = sliding window -> running maxima (pool.h maxpool2d).
//
// The window pads with the input format's lowest value, which never wins a max (hwgen.ops.MaxPool:
// padding and, in ceil mode, the part of a last window past the end are ignored). Per window, the
// K*K words of each channel group are reduced one per cycle; the last one leaves through the
// output cast (the identity when the input and output formats agree).
module hwgen_maxpool #(
    parameter int W = 8,
    parameter bit SIGNED = 1,
    parameter int IN_H = 4,
    parameter int IN_W = 4,
    parameter int C = 1,
    parameter int LANES = 1,
    parameter int K = 3,
    parameter int STRIDE = 2,
    parameter int PAD_T = 0,
    parameter int PAD_L = 0,
    parameter int OUT_H = 2,
    parameter int OUT_W = 2,
    // output cast (hwgen_requant)
    parameter int SHIFT = 0,
    parameter int RND = 0,
    parameter int OW = 8,
    parameter bit OSIGNED = 1,
    parameter int OVF = 1,
    parameter WIN_STORAGE = "auto"  // window buffer: "auto", "block", "distributed"
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
  localparam int KK = K * K;
  localparam logic [W-1:0] LOWEST = SIGNED ? {1'b1, {(W - 1) {1'b0}}} : '0;
  localparam int CWW = $clog2(CW) > 0 ? $clog2(CW) : 1;
  localparam int KW = $clog2(KK) > 0 ? $clog2(KK) : 1;

  logic v_valid, v_ready, w_valid, w_ready;
  logic [LANES*W-1:0] v_data, w_data;
  hwgen_window #(
      .W(W),
      .IN_H(IN_H),
      .IN_W(IN_W),
      .C(C),
      .IN_LANES(LANES),
      .OUT_LANES(LANES),
      .K(K),
      .STRIDE(STRIDE),
      .PAD_T(PAD_T),
      .PAD_L(PAD_L),
      .OUT_H(OUT_H),
      .OUT_W(OUT_W),
      .PAD(LOWEST),
      .BUF_STORAGE(WIN_STORAGE)
  ) u_window (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(in_valid),
      .in_ready(in_ready),
      .in_data(in_data),
      .out_valid(w_valid),
      .out_ready(w_ready),
      .out_data(w_data)
  );
  hwgen_fifo #(
      .WIDTH(LANES * W),
      .DEPTH(2)
  ) u_fifo (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(w_valid),
      .in_ready(w_ready),
      .in_data(w_data),
      .out_valid(v_valid),
      .out_ready(v_ready),
      .out_data(v_data)
  );

  // ---- running maxima ------------------------------------------------------------------------
  logic [LANES*W-1:0] m[CW];
  logic [LANES*W-1:0] cur;
  logic [LANES*OW-1:0] y;
  logic [CWW-1:0] cw;
  logic [KW-1:0] k;
  logic en, take;
  assign en = !out_valid || out_ready;
  assign v_ready = en;
  assign take = v_valid && en;

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    logic signed [W:0] a, b;  // one more bit: signed and unsigned compare alike
    assign a = {SIGNED && v_data[l*W+W-1], v_data[l*W+:W]};
    assign b = {SIGNED && m[cw][l*W+W-1], m[cw][l*W+:W]};
    assign cur[l*W+:W] = (k == '0 || a > b) ? v_data[l*W+:W] : m[cw][l*W+:W];
    hwgen_requant #(
        .XW(W + 1),
        .SHIFT(SHIFT),
        .RND(RND),
        .OW(OW),
        .OSIGNED(OSIGNED),
        .OVF(OVF)
    ) u_cast (
        .x({SIGNED && cur[l*W+W-1], cur[l*W+:W]}),
        .shift(1'b0),
        .y(y[l*OW+:OW])
    );
  end

  always_ff @(posedge clk) begin
    if (take) m[cw] <= cur;
    if (take && k == KW'(KK - 1)) out_data <= y;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cw <= '0;
      k <= '0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= v_valid && k == KW'(KK - 1);
      if (v_valid) begin
        if (cw == CWW'(CW - 1)) begin
          cw <= '0;
          k <= k == KW'(KK - 1) ? '0 : k + 1'b1;
        end else cw <= cw + 1'b1;
      end
    end
  end
endmodule
