// hwgen RTL library: blocked matrix-vector unit whose weights stream in (conv2d_ddr.h
// conv_mvau_blocked).
//
// Per block of BLOCK output pixels, three phases one after the other:
//   load     BLOCK*SF input words (pixel p's SF window words) into xbuf[p*SF + sf];
//   compute  NF*SF*BLOCK steps (nf outer, sf, pixel p inner), one per cycle: PE x SIMD
//            multiply-accumulates of xbuf[p*SF + sf] with weight word (nf, sf), which is taken
//            from the weight stream at p == 0 and kept for the BLOCK pixels; acc[p][pe] starts at
//            the bias (<< B_SHIFT) when sf == 0, and when sf == SF-1 its requantised value goes to
//            obuf[p*NF + nf];
//   emit     BLOCK*NF output words in raster order (pixel p: NF words of PE channels).
// The same sums, requantisation and output order as hwgen_mvau: bit-identical results.
// Weight stream: NF*SF words per block in (nf, sf) order, word layout as hwgen_mvau's weight
// memory (element s*PE + pe at bits [(s*PE + pe)*WW +: WW], signed). Bias memory B_FILE: NF words
// of PE biases. MUL_FABRIC, MUL_PACKED: products in LUTs or two per DSP48, as in hwgen_mvau. ALIGN, S_FILE: per-channel
// formats as in hwgen_mvau (the shift word read with the bias, held with the sums it belongs to
// down to the requantiser in front of the output buffer).
// Cycles per block (input and weights on time, output never blocked):
//   BLOCK*SF + NF*SF*BLOCK + 4 + BLOCK*NF   (4: the compute pipeline drains before emitting)
// Buffers: xbuf (BLOCK*SF words of SIMD*XW bits, one write and one registered read per cycle),
// obuf (BLOCK*NF words of PE*OW bits, likewise): block RAM or LUT RAM as the tool picks; acc
// (BLOCK words of PE*ACCW bits, read and written in the same cycle): LUT RAM or registers.
module hwgen_mvau_ddr #(
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
    parameter int BLOCK = 1,  // output pixels per block
    parameter B_FILE = "",
    parameter bit MUL_FABRIC = 0,
    parameter bit MUL_PACKED = 0,  // two products per DSP48 (hwgen_dot)
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
    parameter int ALIGN = 0,  // per-channel formats (hwgen_mvau)
    parameter S_FILE = "",
    // the input block and output buffers where the estimator booked them (hwgen_ram)
    parameter XBUF_STORAGE = "auto",
    parameter OBUF_STORAGE = "auto"
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [   SIMD*XW-1:0] in_data,
    input  logic                  w_valid,
    output logic                  w_ready,
    input  logic [PE*SIMD*WW-1:0] w_data,
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [     PE*OW-1:0] out_data
);
  localparam int XN = BLOCK * SF;  // xbuf words
  localparam int ON = BLOCK * NF;  // obuf words
  localparam int PW = WW + XW + 1;  // one product
  localparam int DW = PW + $clog2(SIMD) + 1;  // a sum of SIMD products
  localparam int XAW = $clog2(XN) > 0 ? $clog2(XN) : 1;
  localparam int OAW = $clog2(ON) > 0 ? $clog2(ON) : 1;
  localparam int PBW = $clog2(BLOCK) > 0 ? $clog2(BLOCK) : 1;
  localparam int NFW = $clog2(NF) > 0 ? $clog2(NF) : 1;
  localparam int SFW = $clog2(SF) > 0 ? $clog2(SF) : 1;
  localparam int SW = ALIGN > 0 ? $clog2(ALIGN + 1) : 1;  // bits of one channel's shift
  localparam logic [1:0] LOAD = 2'd0, COMPUTE = 2'd1, DRAIN = 2'd2, EMIT = 2'd3;


  logic [PE*ACCW-1:0] accm[BLOCK];
`ifdef YOSYS
  (* rom_style = "logic" *)  // Yosys maps a ROM to LUTs or block RAM, never to LUT RAM
`else
  (* rom_style = "distributed" *)
`endif
  logic [PE*BW-1:0] bmem[NF];
  if (B_FILE != "") begin : g_init
    initial $readmemh(B_FILE, bmem);
  end

  logic [1:0] phase;
  logic s1_valid, s2_valid, fin_valid;

  // ---- load ----------------------------------------------------------------------------------
  logic [XAW-1:0] li;
  logic load;
  assign in_ready = phase == LOAD;
  assign load = in_valid && in_ready;

  // ---- compute: issue --------------------------------------------------------------------------
  logic [PBW-1:0] p;
  logic [SFW-1:0] sf;
  logic [NFW-1:0] nf;
  logic [XAW-1:0] xa;  // p*SF + sf
  logic [OAW-1:0] oa;  // p*NF + nf
  logic issue, last_p, last_sf, last_nf;
  assign last_p = p == PBW'(BLOCK - 1);
  assign last_sf = sf == SFW'(SF - 1);
  assign last_nf = nf == NFW'(NF - 1);
  assign w_ready = phase == COMPUTE && p == '0;
  assign issue = phase == COMPUTE && (p != '0 || w_valid);

  // ---- emit ----------------------------------------------------------------------------------
  logic [OAW-1:0] ei;
  logic emit;
  assign emit = phase == EMIT && (!out_valid || out_ready);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      phase <= LOAD;
      li <= '0;
      p <= '0;
      sf <= '0;
      nf <= '0;
      xa <= '0;
      oa <= '0;
      ei <= '0;
    end else begin
      case (phase)
        LOAD:
        if (load) begin
          if (li == XAW'(XN - 1)) begin
            li <= '0;
            phase <= COMPUTE;
          end else li <= li + 1'b1;
        end
        COMPUTE:
        if (issue) begin
          if (!last_p) begin
            p <= p + 1'b1;
            xa <= xa + XAW'(SF);
            oa <= oa + OAW'(NF);
          end else begin
            p <= '0;
            if (!last_sf) begin
              sf <= sf + 1'b1;
              xa <= XAW'(sf) + 1'b1;
              oa <= OAW'(nf);
            end else begin
              sf <= '0;
              xa <= '0;
              if (!last_nf) begin
                nf <= nf + 1'b1;
                oa <= OAW'(nf) + 1'b1;
              end else begin
                nf <= '0;
                oa <= '0;
                phase <= DRAIN;
              end
            end
          end
        end
        DRAIN: if (!s1_valid && !s2_valid && !fin_valid) phase <= EMIT;
        default:
        if (emit) begin
          if (ei == OAW'(ON - 1)) begin
            ei <= '0;
            phase <= LOAD;
          end else ei <= ei + 1'b1;
        end
      endcase
    end
  end

  // ---- stage 1: buffers and the weight word ---------------------------------------------------
  logic [SIMD*XW-1:0] xb_q;
  logic [PE*SIMD*WW-1:0] w_cur;
  logic [PE*BW-1:0] b_q;
  logic s1_first, s1_last;
  logic [PBW-1:0] s1_p;
  logic [OAW-1:0] s1_oa;
  hwgen_ram #(
      .WIDTH(SIMD * XW),
      .DEPTH(XN),
      .STYLE(XBUF_STORAGE)
  ) u_xbuf (
      .clk(clk),
      .we(load),
      .waddr(li),
      .wdata(in_data),
      .re(1'b1),
      .raddr(xa),
      .rdata(xb_q)
  );
  always_ff @(posedge clk) begin
    b_q <= bmem[nf];
    if (issue && p == '0) w_cur <= w_data;
    s1_first <= sf == '0;
    s1_last <= last_sf;
    s1_p <= p;
    s1_oa <= oa;
  end

  // ---- stage 2: products and their sum per PE --------------------------------------------------
  logic [PE*DW-1:0] dot_q;
  logic [PE*BW-1:0] b2_q;
  logic s2_first, s2_last;
  logic [PBW-1:0] s2_p;
  logic [OAW-1:0] s2_oa;
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
      .w(w_cur),
      .x(xb_q),
      .sum(dot)
  );
  always_ff @(posedge clk) dot_q <= dot;
  always_ff @(posedge clk) begin
    b2_q <= b_q;
    s2_first <= s1_first;
    s2_last <= s1_last;
    s2_p <= s1_p;
    s2_oa <= s1_oa;
  end

  // ---- stage 3: accumulate per (pixel, pe) -----------------------------------------------------
  logic [PE*ACCW-1:0] acc_old, acc_new, fin_q;
  logic [OAW-1:0] fin_oa;
  assign acc_old = accm[s2_p];
  for (genvar pe = 0; pe < PE; pe++) begin : g_acc
    assign acc_new[pe*ACCW+:ACCW] = (s2_first ? ACCW'($signed(b2_q[pe*BW+:BW])) <<< B_SHIFT
                                              : $signed(acc_old[pe*ACCW+:ACCW]))
                                    + ACCW'($signed(dot_q[pe*DW+:DW]));
  end
  always_ff @(posedge clk) begin
    if (s2_valid) accm[s2_p] <= acc_new;
    fin_q <= acc_new;
    fin_oa <= s2_oa;
  end

  // ---- the channels' shifts: read with the bias, held with the sums ---------------------------
  logic [PE*SW-1:0] fin_s;  // the shifts of the channels in fin_q
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
      s_q <= smem[nf];
      s2_q <= s_q;
      fin_s <= s2_q;
    end
  end else begin : g_noshift
    assign fin_s = '0;
  end

  // ---- stage 4: requantise into the output buffer ---------------------------------------------
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
        .x(fin_q[pe*ACCW+:ACCW]),
        .shift(fin_s[pe*SW+:SW]),
        .y(y[pe*OW+:OW])
    );
  end
  hwgen_ram #(
      .WIDTH(PE * OW),
      .DEPTH(ON),
      .STYLE(OBUF_STORAGE)
  ) u_obuf (
      .clk(clk),
      .we(fin_valid),
      .waddr(fin_oa),
      .wdata(y),
      .re(emit),
      .raddr(ei),
      .rdata(out_data)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      s1_valid <= 1'b0;
      s2_valid <= 1'b0;
      fin_valid <= 1'b0;
      out_valid <= 1'b0;
    end else begin
      s1_valid <= issue;
      s2_valid <= s1_valid;
      fin_valid <= s2_valid && s2_last;
      if (emit) out_valid <= 1'b1;
      else if (out_ready) out_valid <= 1'b0;
    end
  end
endmodule
