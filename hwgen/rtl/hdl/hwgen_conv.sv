// hwgen RTL library: 2-D convolution = input front end + matrix-vector unit (conv2d.h).
//
//   MODE 0 (direct):  1x1, stride 1, no padding, IN_LANES == SIMD: the MVAU reads the input.
//   MODE 1 (regroup): 1x1 as above with IN_LANES != SIMD: hwgen_regroup -> MVAU.
//   MODE 2 (window):  anything else: hwgen_window (zero padding) -> FIFO -> MVAU.
// The MVAU takes a pixel's SF window words in SF cycles, then works NF-1 more passes on them; a
// FIFO of WIN_FIFO >= SF words lets the window run on meanwhile instead of stalling, so that the
// next pixel's words are all there when the MVAU wants them (no bubbles: cycles stay NF*SF).
// The generator (hwgen.rtl.modules) picks MODE as hwgen.hls.kernels._conv_mode does.
module hwgen_conv #(
    parameter int MODE = 2,
    // input geometry (window mode)
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
    parameter int WIN_FIFO = 2,  // window words buffered in front of the MVAU
    // matrix-vector unit (see hwgen_mvau)
    parameter int XW = 8,
    parameter bit X_SIGNED = 1,
    parameter int WW = 8,
    parameter int BW = 8,
    parameter int B_SHIFT = 0,
    parameter int ACCW = 24,
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int NF = 1,
    parameter int SF = 1,
    parameter W_FILE = "",
    parameter B_FILE = "",
    parameter bit MUL_FABRIC = 0,  // products in LUTs, not DSP48s
    parameter bit MUL_PACKED = 0,  // two products per DSP48 (hwgen_dot)
    parameter W_STORAGE = "auto",  // weight ROM: "auto", "block", "distributed"
    parameter WIN_STORAGE = "auto",  // window buffer (MODE 2): the same choices (hwgen_ram)
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
    parameter int ALIGN = 0,  // per-channel weight formats: the largest shift (hwgen_mvau)
    parameter S_FILE = ""  // and the channels' shifts
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [IN_LANES*XW-1:0] in_data,
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [   PE*OW-1:0]   out_data
);
  logic v_valid, v_ready;
  logic [SIMD*XW-1:0] v_data;
  hwgen_conv_front #(
      .MODE(MODE),
      .IN_H(IN_H),
      .IN_W(IN_W),
      .IN_C(IN_C),
      .IN_LANES(IN_LANES),
      .K(K),
      .STRIDE(STRIDE),
      .PAD_T(PAD_T),
      .PAD_L(PAD_L),
      .OUT_H(OUT_H),
      .OUT_W(OUT_W),
      .WIN_FIFO(WIN_FIFO),
      .XW(XW),
      .SIMD(SIMD),
      .WIN_STORAGE(WIN_STORAGE)
  ) u_front (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(in_valid),
      .in_ready(in_ready),
      .in_data(in_data),
      .v_valid(v_valid),
      .v_ready(v_ready),
      .v_data(v_data)
  );  hwgen_mvau #(
      .XW(XW),
      .X_SIGNED(X_SIGNED),
      .WW(WW),
      .BW(BW),
      .B_SHIFT(B_SHIFT),
      .ACCW(ACCW),
      .PE(PE),
      .SIMD(SIMD),
      .NF(NF),
      .SF(SF),
      .W_FILE(W_FILE),
      .B_FILE(B_FILE),
      .MUL_FABRIC(MUL_FABRIC),
      .MUL_PACKED(MUL_PACKED),
      .W_STORAGE(W_STORAGE),
      .ACC_CAST(ACC_CAST),
      .ACC_W(ACC_W),
      .ACC_SIGNED(ACC_SIGNED),
      .ACC_OVF(ACC_OVF),
      .RELU(RELU),
      .SHIFT(SHIFT),
      .RND(RND),
      .OW(OW),
      .OSIGNED(OSIGNED),
      .OVF(OVF),
      .ALIGN(ALIGN),
      .S_FILE(S_FILE)
  ) u_mvau (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(v_valid),
      .in_ready(v_ready),
      .in_data(v_data),
      .out_valid(out_valid),
      .out_ready(out_ready),
      .out_data(out_data)
  );
endmodule
