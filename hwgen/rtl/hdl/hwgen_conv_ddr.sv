// hwgen RTL library: 2-D convolution whose weights live in DDR (conv2d_ddr.h), bit-identical to
// hwgen_conv with the same weights.
//
//   input front (MODE as hwgen_conv: 0 direct, 1 regroup, 2 window -> FIFO of WIN_FIFO words)
//     -> hwgen_mvau_ddr (blocks of BLOCK output pixels; see there)
//   hwgen_axi_read (m_axi_*: the weight image, once per block) -> beat gatherer -> weight words
//
// Weight image at base_addr (4 KiB-aligned; hwgen.design.ddr.pack_ddr_weights writes it): NF*SF
// weight words in (nf, sf) order, word i in beats i*BEATS .. i*BEATS + BEATS - 1 read as one
// little-endian bit string: weight k = s*PE + pe at bits [k*W_BITS, k*W_BITS + W_BITS), two's
// complement if W_SIGNED, the rest of the last beat zero. BEATS = ceil(PE*SIMD*W_BITS / 64).
// The read master starts when `start` is first high (the top raises it at the first ap_start,
// after the driver has written the weight pointers) and then runs pass after pass
// (OUT_H*OUT_W/BLOCK passes per frame, frame after frame), its FIFO keeping up to FETCH_FIFO beats
// ahead of the MVAU; base_addr is sampled at the start of every pass.
// Cycles per frame, weights on time: OUT_H*OUT_W/BLOCK * (BLOCK*SF + NF*SF*BLOCK + 4 + BLOCK*NF).
// The weights are on time while the MVAU needs fewer beats than the fetch delivers: BEATS beats
// per BLOCK cycles while it computes, against OUTSTANDING*MAX_BURST beats per round trip of a
// request (latency + MAX_BURST + 2 cycles: 64 beats per 82 cycles at a latency of 64) after the
// FETCH_FIFO beats it has read ahead. When the memory is the limit, a frame takes about
// (its beats) * (latency + MAX_BURST + 2) / (OUTSTANDING*MAX_BURST) cycles.
module hwgen_conv_ddr #(
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
    // matrix-vector unit (see hwgen_mvau_ddr)
    parameter int XW = 8,
    parameter bit X_SIGNED = 1,
    parameter int W_BITS = 8,  // bits per weight in the DDR image
    parameter bit W_SIGNED = 1,
    parameter int BW = 8,
    parameter int B_SHIFT = 0,
    parameter int ACCW = 24,
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int NF = 1,
    parameter int SF = 9,
    parameter int BLOCK = 4,  // output pixels per pass over the weights (hwgen: OUT_W)
    parameter int BEATS = 1,  // 64-bit beats per weight word
    parameter B_FILE = "",
    parameter bit MUL_FABRIC = 0,
    parameter bit MUL_PACKED = 0,  // two products per DSP48 (hwgen_dot)
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
    parameter S_FILE = "",  // and the channels' shifts
    parameter WIN_STORAGE = "auto",  // window buffer (MODE 2): "auto", "block", "distributed"
    parameter XBUF_STORAGE = "auto",  // the MVAU's input block and output buffer: the same
    parameter OBUF_STORAGE = "auto",
    // AXI4 read master
    parameter int ADDR_W = 32,
    parameter int MAX_BURST = 16,
    parameter int OUTSTANDING = 4,
    // beats the read master's FIFO holds (it requests only what fits): the read data buffer of
    // Vitis' m_axi adapter is as deep (UG1399: num_read_outstanding x max_read_burst_length)
    parameter int FETCH_FIFO = MAX_BURST * OUTSTANDING
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic                     in_valid,
    output logic                     in_ready,
    input  logic [  IN_LANES*XW-1:0] in_data,
    output logic                     out_valid,
    input  logic                     out_ready,
    output logic [        PE*OW-1:0] out_data,
    input  logic                     start,
    input  logic [       ADDR_W-1:0] base_addr,
    output logic [       ADDR_W-1:0] m_axi_araddr,
    output logic [              7:0] m_axi_arlen,
    output logic [              2:0] m_axi_arsize,
    output logic [              1:0] m_axi_arburst,
    output logic [              3:0] m_axi_arcache,
    output logic [              2:0] m_axi_arprot,
    output logic                     m_axi_arvalid,
    input  logic                     m_axi_arready,
    input  logic [             63:0] m_axi_rdata,
    input  logic [              1:0] m_axi_rresp,
    input  logic                     m_axi_rlast,
    input  logic                     m_axi_rvalid,
    output logic                     m_axi_rready
);
  localparam int WPAR = PE * SIMD;
  localparam int WW = W_BITS + (W_SIGNED ? 0 : 1);  // signed register of one weight
  localparam int PASS_BEATS = NF * SF * BEATS;
  localparam int PAD = BEATS * 64 - WPAR * W_BITS;  // zero bits at the end of a weight word

  initial begin
    if (PAD < 0 || PAD >= 64) $error("hwgen_conv_ddr: BEATS must be ceil(PE*SIMD*W_BITS / 64)");
    if ((OUT_H * OUT_W) % BLOCK != 0) $error("hwgen_conv_ddr: BLOCK must divide OUT_H*OUT_W");
  end

  // ---- input front (hwgen_conv_front, as in hwgen_conv) ---------------------------------------
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
  );  // ---- weights: AXI4 reads -> beats -> weight words --------------------------------------------
  logic b_valid, b_ready;
  logic [63:0] b_data;
  logic rd_busy, rd_err;
  hwgen_axi_read #(
      .ADDR_W(ADDR_W),
      .LEN_W(32),
      .PASSES(0),  // pass after pass: each block of each frame takes one
      .MAX_BURST(MAX_BURST),
      .OUTSTANDING(OUTSTANDING),
      .FIFO_DEPTH(FETCH_FIFO)
  ) u_read (
      .clk(clk),
      .rst_n(rst_n),
      .start(start),
      .base_addr(base_addr),
      .len_beats(32'(PASS_BEATS)),
      .busy(rd_busy),
      .err(rd_err),
      .out_valid(b_valid),
      .out_ready(b_ready),
      .out_data(b_data),
      .m_axi_araddr(m_axi_araddr),
      .m_axi_arlen(m_axi_arlen),
      .m_axi_arsize(m_axi_arsize),
      .m_axi_arburst(m_axi_arburst),
      .m_axi_arcache(m_axi_arcache),
      .m_axi_arprot(m_axi_arprot),
      .m_axi_arvalid(m_axi_arvalid),
      .m_axi_arready(m_axi_arready),
      .m_axi_rdata(m_axi_rdata),
      .m_axi_rresp(m_axi_rresp),
      .m_axi_rlast(m_axi_rlast),
      .m_axi_rvalid(m_axi_rvalid),
      .m_axi_rready(m_axi_rready)
  );

  // BEATS beats -> one word {beat BEATS-1, ..., beat 0}; the last beat of a word is taken only
  // when the word register is free (or is being freed), the others always
  logic [BEATS*64-1:0] word;
  logic wq_valid, wq_ready, last_beat;
  logic [WPAR*WW-1:0] wq_data, wq_next;
  if (BEATS == 1) begin : g_one
    assign word = b_data;
    assign last_beat = 1'b1;
  end else begin : g_many
    localparam int CW = $clog2(BEATS);
    localparam int SRW = (BEATS - 1) * 64;
    logic [SRW-1:0] sr;  // the word's earlier beats, beat 0 at the bottom
    logic [CW-1:0] cnt;
    assign word = {b_data, sr};
    assign last_beat = cnt == CW'(BEATS - 1);
    always_ff @(posedge clk) begin
      if (!rst_n) cnt <= '0;
      else if (b_valid && b_ready) cnt <= last_beat ? '0 : cnt + 1'b1;
    end
    always_ff @(posedge clk) begin
      if (b_valid && b_ready && !last_beat) sr <= SRW'({b_data, sr} >> 64);
    end
  end
  for (genvar k = 0; k < WPAR; k++) begin : g_lane
    if (W_SIGNED) begin : g_s
      assign wq_next[k*WW+:WW] = word[k*W_BITS+:W_BITS];
    end else begin : g_u
      assign wq_next[k*WW+:WW] = {1'b0, word[k*W_BITS+:W_BITS]};
    end
  end
  if (PAD > 0) begin : g_pad
    logic unused_pad;
    assign unused_pad = ^word[BEATS*64-1:WPAR*W_BITS];
  end
  logic unused_rd;
  assign unused_rd = rd_busy ^ rd_err;

  assign b_ready = !last_beat || !wq_valid || wq_ready;
  always_ff @(posedge clk) begin
    if (!rst_n) wq_valid <= 1'b0;
    else if (b_valid && b_ready && last_beat) wq_valid <= 1'b1;
    else if (wq_ready) wq_valid <= 1'b0;
  end
  always_ff @(posedge clk) begin
    if (b_valid && b_ready && last_beat) wq_data <= wq_next;
  end

  // ---- matrix-vector unit ----------------------------------------------------------------------
  hwgen_mvau_ddr #(
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
      .BLOCK(BLOCK),
      .B_FILE(B_FILE),
      .MUL_FABRIC(MUL_FABRIC),
      .MUL_PACKED(MUL_PACKED),
      .XBUF_STORAGE(XBUF_STORAGE),
      .OBUF_STORAGE(OBUF_STORAGE),
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
      .w_valid(wq_valid),
      .w_ready(wq_ready),
      .w_data(wq_data),
      .out_valid(out_valid),
      .out_ready(out_ready),
      .out_data(out_data)
  );
endmodule
