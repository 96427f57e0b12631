// hwgen RTL library: matrix-vector unit with weight memory (conv2d.h conv_mvau).
//
// For every output pixel, NF*SF steps (nf outer, sf inner) of PE x SIMD multiply-accumulates:
// step (nf, sf) reads an input word of SIMD elements when nf == 0 (kept in an SF-word buffer for
// the other NF-1 passes), multiplies it with weight word nf*SF + sf, and, when sf == SF-1, sends
// PE outputs (the requantised sums of output channels nf*PE .. nf*PE+PE-1). One step per cycle
// while the output has room: cycles per frame = OUT_H*OUT_W*NF*SF, as hwgen.hls.kernels counts.
//
// Weight memory W_FILE ($readmemh): NF*SF words of PE*SIMD weights, element s*PE + pe of word
// nf*SF + sf at bits [(s*PE + pe)*WW +: WW] -- the [NF][SF][SIMD][PE] layout of
// hwgen.hls.kernels.pack_conv_weights. Bias memory B_FILE: NF words of PE biases.
// The sum is exact (ACCW bits, sized by the generator from the actual weights); hwgen_requant then
// applies the accumulator's overflow mode, ReLU and the cast to the output format.
// Per-channel weight formats (ALIGN > 0, the largest channel shift): shift memory S_FILE, NF words
// of PE shifts of SW bits (lane pe at bits [pe*SW +: SW]: channel nf*PE + pe's extra fraction
// bits), read with the bias and carried down the pipeline with its sums to hwgen_requant, which
// aligns each channel before the cast. ALIGN = 0: no shift memory, the logic as without it.
// MUL_FABRIC = 1: every product in LUTs, never a DSP48 (hwgen_fabric_mul); MUL_PACKED = 1: two
// PEs' products per DSP48 (hwgen_dot). Same values every way.
// W_STORAGE: "block", "distributed" or "auto" -- the weight ROM's (* rom_style *) (Vivado, UG901:
// block RAM or a LUT ROM); "auto" leaves it to the tool. Yosys' memory_libmap reads rom_style too
// but never puts a ROM in LUT RAM, so under Yosys (`YOSYS) "distributed" is spelt "logic": LUTs.
// Pipeline: issue -> memories -> products -> accumulate -> requantise; it stalls as a whole when
// the output register is full.
module hwgen_mvau #(
    parameter int XW = 8,  // input element width
    parameter bit X_SIGNED = 1,
    parameter int WW = 8,  // weight width (signed)
    parameter int BW = 8,  // bias width (signed)
    parameter int B_SHIFT = 0,  // bias fraction -> accumulator fraction
    parameter int ACCW = 24,  // exact sum register
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int NF = 1,
    parameter int SF = 1,
    parameter W_FILE = "",
    parameter B_FILE = "",
    parameter bit MUL_FABRIC = 0,  // products in LUTs (see above)
    parameter bit MUL_PACKED = 0,  // two products per DSP48 (see above)
    parameter W_STORAGE = "auto",  // weight ROM: "auto", "block", "distributed"
    // output cast (hwgen_requant)
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
    parameter int ALIGN = 0,  // per-channel formats: the largest shift (see above)
    parameter S_FILE = ""
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               in_valid,
    output logic               in_ready,
    input  logic [SIMD*XW-1:0] in_data,
    output logic               out_valid,
    input  logic               out_ready,
    output logic [  PE*OW-1:0] out_data
);
  localparam int WMEM = NF * SF;
  localparam int PW = WW + XW + 1;  // one product
  localparam int DW = PW + $clog2(SIMD) + 1;  // a sum of SIMD products
  localparam int WAW = $clog2(WMEM) > 0 ? $clog2(WMEM) : 1;
  localparam int NFW = $clog2(NF) > 0 ? $clog2(NF) : 1;
  localparam int SFW = $clog2(SF) > 0 ? $clog2(SF) : 1;
  localparam int SW = ALIGN > 0 ? $clog2(ALIGN + 1) : 1;  // bits of one channel's shift

  // the bias ROM is small: LUTs (as the HLS kernel binds it: rom_1p lutram)
`ifdef YOSYS
  (* rom_style = "logic" *)  // Yosys maps a ROM to LUTs or block RAM, never to LUT RAM
`else
  (* rom_style = "distributed" *)
`endif
  logic [PE*BW-1:0] bmem[NF];
  logic [SIMD*XW-1:0] xbuf[SF];
  // ROM contents (the library's own default, no file, only elaborates for lint)
  if (W_FILE != "") begin : g_init
    initial $readmemh(B_FILE, bmem);
  end


  logic en;  // the whole pipeline moves
  assign en = !out_valid || out_ready;

  // ---- issue ---------------------------------------------------------------------------------
  logic [NFW-1:0] nf;
  logic [SFW-1:0] sf;
  logic [WAW-1:0] waddr;
  logic issue;
  assign issue = en && (nf != '0 || in_valid);
  assign in_ready = en && nf == '0;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      nf <= '0;
      sf <= '0;
      waddr <= '0;
    end else if (issue) begin
      waddr <= waddr == WAW'(WMEM - 1) ? '0 : waddr + 1'b1;
      if (sf == SFW'(SF - 1)) begin
        sf <= '0;
        nf <= nf == NFW'(NF - 1) ? '0 : nf + 1'b1;
      end else sf <= sf + 1'b1;
    end
  end

  // ---- stage 1: memories -----------------------------------------------------------------------
  logic [PE*SIMD*WW-1:0] w_q;
  logic [PE*BW-1:0] b_q;
  logic [SIMD*XW-1:0] xb_q, xin_q;
  logic s1_valid, s1_first, s1_last, s1_from_in;
  always_ff @(posedge clk) begin
    if (issue && nf == '0) xbuf[sf] <= in_data;
  end
  // the weight ROM, one declaration per storage style (attribute values must be literals)
  localparam int SL = 8 * 16;  // string parameters compared at one width (no width warnings)
  if (SL'(W_STORAGE) == SL'("block")) begin : g_wrom_block
    (* rom_style = "block" *) logic [PE*SIMD*WW-1:0] wmem[WMEM];
    if (W_FILE != "") begin : g_init
      initial $readmemh(W_FILE, wmem);
    end
    always_ff @(posedge clk) begin
      if (en) w_q <= wmem[waddr];
    end
  end else if (SL'(W_STORAGE) == SL'("distributed")) begin : g_wrom_lut
`ifdef YOSYS
    (* rom_style = "logic" *)  // (Yosys: a ROM in LUTs; its LUT RAMs are never used for ROMs)
`else
    (* rom_style = "distributed" *)  // Vivado: a LUT ROM
`endif
    logic [PE*SIMD*WW-1:0] wmem[WMEM];
    if (W_FILE != "") begin : g_init
      initial $readmemh(W_FILE, wmem);
    end
    always_ff @(posedge clk) begin
      if (en) w_q <= wmem[waddr];
    end
  end else begin : g_wrom_auto
    logic [PE*SIMD*WW-1:0] wmem[WMEM];
    if (W_FILE != "") begin : g_init
      initial $readmemh(W_FILE, wmem);
    end
    always_ff @(posedge clk) begin
      if (en) w_q <= wmem[waddr];
    end
  end
  always_ff @(posedge clk) begin
    if (en) begin
      b_q <= bmem[nf];
      xb_q <= xbuf[sf];
      xin_q <= in_data;
      s1_first <= sf == '0;
      s1_last <= sf == SFW'(SF - 1);
      s1_from_in <= nf == '0;
    end
  end

  // ---- stage 2: products and their sum per PE ------------------------------------------------
  logic [SIMD*XW-1:0] x1;
  assign x1 = s1_from_in ? xin_q : xb_q;
  logic [PE*DW-1:0] dot_q;  // (packed vectors throughout: synthesis tools take them all)
  logic [PE*BW-1:0] b2_q;
  logic s2_valid, s2_first, s2_last;
  logic [PE*DW-1:0] dot;
  hwgen_dot #(
      .WW(WW),
      .XW(XW),
      .X_SIGNED(X_SIGNED),
      .PE(PE),
      .SIMD(SIMD),
      .DW(DW),
      .MUL_FABRIC(MUL_FABRIC),
      .MUL_PACKED(MUL_PACKED)
  ) u_dot (
      .w(w_q),
      .x(x1),
      .sum(dot)
  );
  always_ff @(posedge clk) begin
    if (en) dot_q <= dot;
  end
  always_ff @(posedge clk) begin
    if (en) begin
      b2_q <= b_q;
      s2_first <= s1_first;
      s2_last <= s1_last;
    end
  end

  // ---- stage 3: accumulate -------------------------------------------------------------------
  logic [PE*ACCW-1:0] acc;
  logic s3_valid;
  for (genvar pe = 0; pe < PE; pe++) begin : g_acc
    always_ff @(posedge clk) begin
      if (en && s2_valid)
        acc[pe*ACCW+:ACCW] <= (s2_first ? ACCW'($signed(b2_q[pe*BW+:BW])) <<< B_SHIFT
                                        : $signed(acc[pe*ACCW+:ACCW]))
                              + ACCW'($signed(dot_q[pe*DW+:DW]));
    end
  end

  // ---- the channels' shifts: read with the bias, held with the sums ---------------------------
  logic [PE*SW-1:0] s3_q;  // the shifts of the channels in acc
  if (ALIGN > 0) begin : g_shift
    // NF words: a LUT ROM (UG901 rom_style "distributed"); Yosys never maps a ROM to LUT RAM,
    // its spelling of LUTs is "logic" (memory_libmap), as for the bias ROM
`ifdef YOSYS
    (* rom_style = "logic" *)
`else
    (* rom_style = "distributed" *)
`endif
    logic [PE*SW-1:0] smem[NF];
    if (S_FILE != "") begin : g_init
      initial $readmemh(S_FILE, smem);
    end
    logic [PE*SW-1:0] s_q, s2_q;
    always_ff @(posedge clk) begin
      if (en) begin
        s_q <= smem[nf];
        s2_q <= s_q;
      end
      if (en && s2_valid) s3_q <= s2_q;
    end
  end else begin : g_noshift
    assign s3_q = '0;
  end

  // ---- stage 4: requantise into the output register ------------------------------------------
  logic [PE*OW-1:0] y;
  for (genvar pe = 0; pe < PE; pe++) begin : g_out
    hwgen_requant #(
        .XW(ACCW),
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
        .SW(SW)
    ) u_requant (
        .x(acc[pe*ACCW+:ACCW]),
        .shift(s3_q[pe*SW+:SW]),
        .y(y[pe*OW+:OW])
    );
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_valid <= 1'b0;
      s2_valid <= 1'b0;
      s3_valid <= 1'b0;
      out_valid <= 1'b0;
    end else if (en) begin
      s1_valid <= issue;
      s2_valid <= s1_valid;
      s3_valid <= s2_valid && s2_last;
      out_valid <= s3_valid;
    end
  end
  always_ff @(posedge clk) begin
    if (en && s3_valid) out_data <= y;
  end
endmodule
