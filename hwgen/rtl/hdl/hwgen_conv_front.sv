// hwgen RTL library: the input front of a convolution (hwgen_conv and hwgen_conv_ddr), the
// words the matrix-vector unit reads, SIMD lanes each (modes as hwgen_conv describes them):
//   MODE 0: the input itself; MODE 1: hwgen_regroup; MODE 2: hwgen_window (zero padding, its
//   buffer in WIN_STORAGE) -> a FIFO of WIN_FIFO words.
module hwgen_conv_front #(
    parameter int MODE = 2,
    parameter int IN_H = 4,
    parameter int IN_W = 4,
    parameter int IN_C = 1,
    parameter int IN_LANES = 1,
    parameter int K = 3,
    parameter int STRIDE = 1,
    parameter int PAD_T = 1,
    parameter int PAD_L = 1,
    parameter int OUT_H = 4,
    parameter int OUT_W = 4,
    parameter int WIN_FIFO = 2,
    parameter int XW = 8,
    parameter int SIMD = 1,
    parameter WIN_STORAGE = "auto"
) (
    /* verilator lint_off UNUSEDSIGNAL */  // MODE 0 is wires only
    input  logic                   clk,
    input  logic                   rst_n,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic                   in_valid,
    output logic                   in_ready,
    input  logic [IN_LANES*XW-1:0] in_data,
    output logic                   v_valid,
    input  logic                   v_ready,
    output logic [    SIMD*XW-1:0] v_data
);
  if (MODE == 0) begin : g_direct
    assign v_valid = in_valid;
    assign in_ready = v_ready;
    assign v_data = in_data;
  end else if (MODE == 1) begin : g_regroup
    hwgen_regroup #(
        .W(XW),
        .IN_L(IN_LANES),
        .OUT_L(SIMD)
    ) u_regroup (
        .clk(clk),
        .rst_n(rst_n),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .out_valid(v_valid),
        .out_ready(v_ready),
        .out_data(v_data)
    );
  end else begin : g_window
    logic w_valid, w_ready;
    logic [SIMD*XW-1:0] w_data;
    hwgen_window #(
        .W(XW),
        .IN_H(IN_H),
        .IN_W(IN_W),
        .C(IN_C),
        .IN_LANES(IN_LANES),
        .OUT_LANES(SIMD),
        .K(K),
        .STRIDE(STRIDE),
        .PAD_T(PAD_T),
        .PAD_L(PAD_L),
        .OUT_H(OUT_H),
        .OUT_W(OUT_W),
        .PAD('0),
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
        .WIDTH(SIMD * XW),
        .DEPTH(WIN_FIFO)
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
  end

endmodule
