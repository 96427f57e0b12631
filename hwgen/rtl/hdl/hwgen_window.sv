// hwgen RTL library: sliding-window generator with line buffers (window.h sliding_window).
//
// Turns a (C, IN_H, IN_W) tensor, IN_LANES channels per word, into its KxK windows: for each
// output pixel (oy, ox) in raster order, for ky, kx in [0, K), the C channels of input pixel
// (oy*STRIDE - PAD_T + ky, ox*STRIDE - PAD_L + kx) as C/OUT_LANES words; positions outside the
// input read as PAD.
//
// Schedule: the one of window.h, step for step, so that hwgen.hls.kernels.window_iterations and
// the Fire FIFO sizing hold here too. A frame is OUT_H + 1 phases; phase p reads input rows
// [need(p-1), need(p)) and, for p >= 1, emits the windows of output row p-1; step j of a phase
// reads input word j (j < reads_p) and emits window word j (j < EMITS). A step waits for its input
// word and for room in the output register; one step per cycle otherwise.
// Buffer: K + STRIDE rows x IN_W x C elements, as words of PF = max(IN_LANES, OUT_LANES)
// elements (one partial write and one synchronous read per cycle), in the memory BUF_STORAGE
// names (hwgen_ram: block RAM, LUT RAM, or the tool's choice).
module hwgen_window #(
    parameter int W = 8,
    parameter int IN_H = 4,
    parameter int IN_W = 4,
    parameter int C = 1,
    parameter int IN_LANES = 1,
    parameter int OUT_LANES = 1,
    parameter int K = 3,
    parameter int STRIDE = 1,
    parameter int PAD_T = 1,
    parameter int PAD_L = 1,
    parameter int OUT_H = 4,
    parameter int OUT_W = 4,
    parameter logic [W-1:0] PAD = '0,
    parameter BUF_STORAGE = "auto"  // the buffer: "auto", "block", "distributed" (hwgen_ram)
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic                   in_valid,
    output logic                   in_ready,
    input  logic [IN_LANES*W-1:0]  in_data,
    output logic                   out_valid,
    input  logic                   out_ready,
    output logic [OUT_LANES*W-1:0] out_data
);
  localparam int R = K + STRIDE;  // buffered rows
  localparam int PF = IN_LANES > OUT_LANES ? IN_LANES : OUT_LANES;
  localparam int CWP = C / PF;  // buffer words per pixel
  localparam int WSUB = PF / IN_LANES;  // input words per buffer word
  localparam int RSUB = PF / OUT_LANES;  // output words per buffer word
  localparam int MW = R * IN_W * CWP;
  localparam int ROW_WORDS = IN_W * (C / IN_LANES);
  localparam int EMITS = OUT_W * K * K * (C / OUT_LANES);
  localparam int NEED0 = IN_H < K - PAD_T ? IN_H : K - PAD_T;
  localparam int MAXLEN = IN_H * ROW_WORDS > EMITS ? IN_H * ROW_WORDS : EMITS;
  localparam int JW = $clog2(MAXLEN + 1);
  localparam int PW = $clog2(OUT_H + 1) + 1;
  // row and column coordinates (signed: padding makes them negative)
  localparam int YW = $clog2(IN_H + (OUT_H + 2) * STRIDE + K + 1) + 2;
  localparam int XW = $clog2(IN_W + (OUT_W + 1) * STRIDE + K + 1) + 2;
  localparam int AW = $clog2(MW) > 0 ? $clog2(MW) : 1;
  localparam int SW = $clog2(R);
  localparam int KW = $clog2(K + 1);
  localparam int CWW = $clog2(CWP + 1);
  localparam int WSW = WSUB > 1 ? $clog2(WSUB) : 1;
  localparam int RSW = RSUB > 1 ? $clog2(RSUB) : 1;

  // constants at the widths of the counters they meet (rows and columns are signed)
  localparam logic [JW-1:0] EMITS_N = JW'(EMITS);
  localparam logic [JW-1:0] ROW_N = JW'(ROW_WORDS);
  localparam logic [JW-1:0] LEN0 = JW'(NEED0 * ROW_WORDS);
  localparam logic signed [YW-1:0] IN_H_Y = YW'(IN_H);
  localparam logic signed [YW-1:0] NEED0_Y = YW'(NEED0);
  localparam logic signed [YW-1:0] TOP0_Y = YW'(-PAD_T);
  localparam logic signed [YW-1:0] NEXT0_Y = YW'(STRIDE + K - PAD_T);
  localparam logic signed [YW-1:0] STRIDE_Y = YW'(STRIDE);
  localparam logic signed [XW-1:0] IN_W_X = XW'(IN_W);
  localparam logic signed [XW-1:0] LEFT0_X = XW'(-PAD_L);
  localparam logic signed [XW-1:0] STRIDE_X = XW'(STRIDE);

  // phase state
  logic [JW-1:0] j, reads, len;
  logic emitting;
  logic [PW-1:0] p;
  logic signed [YW-1:0] need, next_top;
  // write side
  logic [AW-1:0] w_addr;
  logic [WSW-1:0] w_sub;
  // emit side
  logic signed [YW-1:0] top;
  logic [SW-1:0] top_slot;
  logic signed [XW-1:0] left;
  logic [KW-1:0] ky, kx;
  logic [CWW-1:0] cw_word;
  logic [RSW-1:0] cw_sub;
  // output register (the buffer's read register)
  logic [PF*W-1:0] rd_q;
  logic pad_q;
  logic [RSW-1:0] sub_q;

  logic rd_need, em_need, en, go, phase_end, frame_end;
  assign rd_need = j < reads;
  assign em_need = emitting && j < EMITS_N;
  assign en = !out_valid || out_ready;
  assign go = (!rd_need || in_valid) && (!em_need || en);
  assign in_ready = rd_need && (!em_need || en);
  assign phase_end = go && j == len - 1'b1;
  assign frame_end = phase_end && p == PW'(OUT_H);

  // ---- next phase ------------------------------------------------------------------------
  logic signed [YW-1:0] need_n, rows_n;
  logic [PW-1:0] p_n;
  logic [JW-1:0] reads_n;
  assign p_n = p + 1'b1;
  always_comb begin
    if (p_n >= PW'(OUT_H)) need_n = IN_H_Y;
    else need_n = next_top < IN_H_Y ? next_top : IN_H_Y;
    rows_n = need_n - need;
    // rows_n * ROW_N as a choice among the R + 1 possible products: Yosys maps a multiply by a
    // constant to a DSP48 once the counter is 10 bits wide (measured), this costs a few LUTs
    reads_n = '0;
    for (int i = 1; i <= R; i++) if (rows_n == YW'(i)) reads_n = JW'(i * ROW_N);
  end

  // ---- emit address --------------------------------------------------------------------------
  logic signed [YW-1:0] iy;
  logic signed [XW-1:0] ix;
  logic in_frame;
  logic [SW:0] slot_sum;
  logic [SW-1:0] slot;
  logic [AW-1:0] r_addr;
  assign iy = top + YW'($signed({1'b0, ky}));
  assign ix = left + XW'($signed({1'b0, kx}));
  assign in_frame = iy >= 0 && iy < IN_H_Y && ix >= 0 && ix < IN_W_X;
  assign slot_sum = {1'b0, top_slot} + (SW + 1)'(ky);
  assign slot = slot_sum >= (SW + 1)'(R) ? SW'(slot_sum - (SW + 1)'(R)) : SW'(slot_sum);
  // slot * (IN_W*CWP) + ix * CWP as sums of shifted copies (the factors are constants): Yosys
  // maps a multiply by a constant that is no power of two to a DSP48 (measured)
  logic [AW-1:0] slot_base, ix_base;
  always_comb begin
    slot_base = '0;
    ix_base = '0;
    for (int b = 0; b < 31; b++) begin
      if (((IN_W * CWP) >> b) % 2 == 1) slot_base = slot_base + (AW'(slot) << b);
      if ((CWP >> b) % 2 == 1) ix_base = ix_base + (AW'(ix) << b);
    end
  end
  assign r_addr = slot_base + (in_frame ? ix_base : '0) + AW'(cw_word);

  // ---- buffer --------------------------------------------------------------------------------
  logic [WSUB-1:0] we;
  for (genvar b = 0; b < WSUB; b++) begin : g_we
    assign we[b] = go && rd_need && w_sub == WSW'(b);
  end
  hwgen_ram #(
      .WIDTH(PF * W),
      .DEPTH(MW),
      .SUBS(WSUB),
      .STYLE(BUF_STORAGE)
  ) u_buf (
      .clk(clk),
      .we(we),
      .waddr(w_addr),
      .wdata({WSUB{in_data}}),
      .re(go && em_need),
      .raddr(r_addr),
      .rdata(rd_q)
  );
  always_ff @(posedge clk) begin
    if (go && em_need) begin
      pad_q <= !in_frame;
      sub_q <= cw_sub;
    end
  end
  assign out_data = pad_q ? {OUT_LANES{PAD}} : rd_q[sub_q*OUT_LANES*W+:OUT_LANES*W];

  // ---- counters ------------------------------------------------------------------------------
  localparam logic [SW-1:0] TOP_SLOT0 = SW'((R - PAD_T) % R);
  always_ff @(posedge clk) begin
    if (!rst_n || (go && frame_end)) begin
      j <= '0;
      p <= '0;
      need <= NEED0_Y;
      next_top <= NEXT0_Y;
      reads <= LEN0;
      len <= LEN0;
      emitting <= 1'b0;
      w_addr <= '0;
      w_sub <= '0;
      top <= TOP0_Y;
      top_slot <= TOP_SLOT0;
      left <= LEFT0_X;
      ky <= '0;
      kx <= '0;
      cw_word <= '0;
      cw_sub <= '0;
    end else if (go) begin
      if (rd_need) begin
        if (w_sub == WSW'(WSUB - 1)) begin
          w_sub <= '0;
          w_addr <= w_addr == AW'(MW - 1) ? '0 : w_addr + 1'b1;
        end else w_sub <= w_sub + 1'b1;
      end
      if (em_need) begin
        if (cw_sub != RSW'(RSUB - 1)) cw_sub <= cw_sub + 1'b1;
        else begin
          cw_sub <= '0;
          if (cw_word != CWW'(CWP - 1)) cw_word <= cw_word + 1'b1;
          else begin
            cw_word <= '0;
            if (kx != KW'(K - 1)) kx <= kx + 1'b1;
            else begin
              kx <= '0;
              if (ky != KW'(K - 1)) ky <= ky + 1'b1;
              else begin
                ky <= '0;
                left <= left + STRIDE_X;
              end
            end
          end
        end
      end
      if (phase_end) begin
        j <= '0;
        p <= p_n;
        if (p_n >= 2) begin
          top <= top + STRIDE_Y;
          top_slot <= SW'(({1'b0, top_slot} + (SW + 1)'(STRIDE)) >= (SW + 1)'(R) ?
                          ({1'b0, top_slot} + (SW + 1)'(STRIDE)) - (SW + 1)'(R) :
                          {1'b0, top_slot} + (SW + 1)'(STRIDE));
        end
        left <= LEFT0_X;
        need <= need_n;
        next_top <= next_top + STRIDE_Y;
        reads <= reads_n;
        emitting <= 1'b1;
        len <= reads_n > EMITS_N ? reads_n : EMITS_N;
      end else j <= j + 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else if (en) out_valid <= go && em_need;
  end
endmodule
