// hwgen RTL library: AXI4 read master that streams a region of memory (conv2d_ddr.h's
// ddr_weight_fetch; the HLS top gets the same from Vitis' m_axi adapter).
//
// On `start` (sampled while idle) it reads LEN beats of 64 bits from `base_addr` on, in order,
// PASSES times (PASSES = 0: over and over until reset), and delivers them on out_* in order.
// `base_addr` and `len_beats` are sampled at the start of each pass. Read channels only.
//
// Rules it keeps:
//   * ARSIZE = 3 (8-byte beats), ARBURST = INCR, ARCACHE = 4'b0011 (normal, non-cacheable,
//     bufferable: what Vitis' m_axi adapter and PG021's DMA issue), ARPROT = 0.
//   * A burst is at most MAX_BURST beats (AXI4 allows 256; Zynq-7000 HP ports are AXI3, which
//     allows 16: UG1399's m_axi max_read_burst_length = 16 on Zynq-7000).
//   * No burst crosses a 4 KiB boundary (AXI spec A3.4.1). Images start 4 KiB-aligned, so with
//     16-beat bursts this never shortens one; the check is there for any base address.
//   * At most OUTSTANDING requests in flight (UG1399 num_read_outstanding = 4).
//   * A request is issued only when the receive FIFO has room for all its beats (space counts
//     the FIFO's free words minus the beats already requested), so RREADY stays high in normal
//     flow; it is still an honest handshake (RREADY = the FIFO has room).
//   * ARVALID, once high, stays high with ARADDR/ARLEN stable until ARREADY (AXI spec A3.2.1).
// An error response (RRESP != OKAY) sets `err` until reset; the data are delivered anyway.
module hwgen_axi_read #(
    parameter int ADDR_W = 32,
    parameter int LEN_W = 32,  // width of len_beats
    parameter int PASSES = 1,  // passes per start; 0: endless
    parameter int MAX_BURST = 16,  // beats per burst (<= 256)
    parameter int OUTSTANDING = 4,
    parameter int FIFO_DEPTH = MAX_BURST * OUTSTANDING
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic              start,
    input  logic [ADDR_W-1:0] base_addr,
    input  logic [ LEN_W-1:0] len_beats,
    output logic              busy,
    output logic              err,
    // the beats, in address order
    output logic              out_valid,
    input  logic              out_ready,
    output logic [      63:0] out_data,
    // AXI4 read address channel
    output logic [ADDR_W-1:0] m_axi_araddr,
    output logic [       7:0] m_axi_arlen,
    output logic [       2:0] m_axi_arsize,
    output logic [       1:0] m_axi_arburst,
    output logic [       3:0] m_axi_arcache,
    output logic [       2:0] m_axi_arprot,
    output logic              m_axi_arvalid,
    input  logic              m_axi_arready,
    // AXI4 read data channel
    input  logic [      63:0] m_axi_rdata,
    input  logic [       1:0] m_axi_rresp,
    input  logic              m_axi_rlast,
    input  logic              m_axi_rvalid,
    output logic              m_axi_rready
);
  localparam int SW = $clog2(FIFO_DEPTH + 1);  // FIFO space
  localparam int OW = $clog2(OUTSTANDING + 1);
  localparam int PW = $clog2(PASSES + 2);
  localparam logic [SW-1:0] DEPTH_N = SW'(FIFO_DEPTH);
  localparam logic [OW-1:0] OUT_N = OW'(OUTSTANDING);
  localparam logic [PW-1:0] PASSES_N = PW'(PASSES);
  localparam logic [LEN_W-1:0] MAX_N = LEN_W'(MAX_BURST);

  initial begin
    if (MAX_BURST < 1 || MAX_BURST > 256 || FIFO_DEPTH < MAX_BURST || OUTSTANDING < 1)
      $error("hwgen_axi_read: need 1 <= MAX_BURST <= 256, FIFO_DEPTH >= MAX_BURST, OUTSTANDING >= 1");
  end

  assign m_axi_arsize = 3'd3;
  assign m_axi_arburst = 2'b01;  // INCR
  assign m_axi_arcache = 4'b0011;
  assign m_axi_arprot = 3'b000;

  // ---- requests ------------------------------------------------------------------------------
  logic running;
  logic [PW-1:0] passes_left;
  logic [ADDR_W-1:0] addr;  // next request's address
  logic [LEN_W-1:0] left;  // beats of this pass not yet requested
  logic [SW-1:0] space;  // FIFO words neither filled nor promised to a request in flight
  logic [OW-1:0] inflight;  // requests whose last beat has not arrived

  // beats to the next 4 KiB boundary: 512 - addr[11:3] (1..512)
  logic [9:0] to_4k;
  logic [LEN_W-1:0] len;  // this burst's beats: min(MAX_BURST, left, to_4k)
  always_comb begin
    to_4k = 10'd512 - {1'b0, addr[11:3]};
    len = left < MAX_N ? left : MAX_N;
    if (LEN_W'(to_4k) < len) len = LEN_W'(to_4k);
  end

  logic issue, ar_hs, r_hs, r_done, pop, pass_end;
  assign issue = running && left != '0 && !m_axi_arvalid && inflight != OUT_N
                 && space >= SW'(len);  // (len <= MAX_BURST <= FIFO_DEPTH)
  assign ar_hs = m_axi_arvalid && m_axi_arready;
  assign r_hs = m_axi_rvalid && m_axi_rready;
  assign r_done = r_hs && m_axi_rlast;
  assign pop = out_valid && out_ready;
  assign pass_end = running && left == '0;  // all of this pass requested
  assign busy = running;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      running <= 1'b0;
      passes_left <= '0;
      addr <= '0;
      left <= '0;
      m_axi_arvalid <= 1'b0;
      m_axi_araddr <= '0;
      m_axi_arlen <= '0;
    end else begin
      if (ar_hs) m_axi_arvalid <= 1'b0;
      if (issue) begin
        m_axi_arvalid <= 1'b1;
        m_axi_araddr <= addr;
        m_axi_arlen <= 8'(len - 1'b1);
        addr <= addr + ADDR_W'({len, 3'b000});
        left <= left - len;
      end
      if (!running) begin
        if (start && len_beats != '0) begin
          running <= 1'b1;
          passes_left <= PASSES_N;
          addr <= base_addr;
          left <= len_beats;
        end
      end else if (pass_end) begin
        if (PASSES == 0 || passes_left != PW'(1)) begin
          if (PASSES != 0) passes_left <= passes_left - 1'b1;
          addr <= base_addr;
          left <= len_beats;
          running <= len_beats != '0;
        end else running <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      space <= DEPTH_N;
      inflight <= '0;
      err <= 1'b0;
    end else begin
      space <= space + SW'(pop) - (issue ? SW'(len) : '0);
      inflight <= inflight + OW'(issue) - OW'(r_done);
      if (r_hs && m_axi_rresp != 2'b00) err <= 1'b1;
    end
  end

  // ---- data ----------------------------------------------------------------------------------
  hwgen_fifo #(
      .WIDTH(64),
      .DEPTH(FIFO_DEPTH)
  ) u_fifo (
      .clk(clk),
      .rst_n(rst_n),
      .in_valid(m_axi_rvalid),
      .in_ready(m_axi_rready),
      .in_data(m_axi_rdata),
      .out_valid(out_valid),
      .out_ready(out_ready),
      .out_data(out_data)
  );
endmodule
