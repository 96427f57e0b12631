// hwgen RTL library: AXI4-Stream slave -> internal stream (axi.h axis_to_stream).
//
// Packing (hwgen.pynq_driver): lane l of the word at bits [l*W, l*W + W); bits above LANES*W
// are zero. A word of WIDTH bits takes BEATS = ceil(WIDTH / AXI_BITS) beats, lowest bits first
// (the DMA-facing widths of hwgen.design.streams: 8, 16, 32 or 64-bit TDATA); one beat per word
// passes straight through. TKEEP, TSTRB and TLAST are accepted and ignored (the frame length is
// fixed).
module hwgen_axis_in #(
    parameter int AXI_BITS = 8,
    parameter int WIDTH = 8  // LANES * W
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                s_tvalid,
    output logic                s_tready,
    input  logic [AXI_BITS-1:0] s_tdata,
    output logic                out_valid,
    input  logic                out_ready,
    output logic [   WIDTH-1:0] out_data
);
  localparam int BEATS = (WIDTH + AXI_BITS - 1) / AXI_BITS;
  if (BEATS == 1) begin : g_one
    assign out_valid = s_tvalid;
    assign s_tready = out_ready;
    assign out_data = s_tdata[WIDTH-1:0];
    logic unused;
    assign unused = ^{clk, rst_n, s_tdata};
  end else begin : g_beats
    localparam int BW = $clog2(BEATS);
    localparam logic [BW-1:0] LAST = BW'(BEATS - 1);
    logic [BEATS*AXI_BITS-1:0] word;
    logic [BW-1:0] beat;
    logic full;  // word holds all its beats
    assign out_valid = full;
    assign out_data = word[WIDTH-1:0];
    assign s_tready = !full || out_ready;
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        beat <= '0;
        full <= 1'b0;
      end else begin
        if (out_valid && out_ready) full <= 1'b0;
        if (s_tvalid && s_tready) begin
          beat <= beat == LAST ? '0 : beat + 1'b1;
          if (beat == LAST) full <= 1'b1;
        end
      end
    end
    always_ff @(posedge clk) begin
      if (s_tvalid && s_tready) word[beat*AXI_BITS+:AXI_BITS] <= s_tdata;
    end
    if (BEATS * AXI_BITS > WIDTH) begin : g_pad
      logic unused;
      assign unused = ^word[BEATS*AXI_BITS-1:WIDTH];
    end
  end
endmodule
