// hwgen RTL library: internal stream -> AXI4-Stream master (axi.h stream_to_axis).
//
// Same packing as hwgen_axis_in: a word of WIDTH bits in ceil(WIDTH / AXI_BITS) beats, lowest
// bits first, zero above WIDTH; TKEEP/TSTRB all ones; TLAST on the last beat of the last word of
// each frame (WORDS words).
module hwgen_axis_out #(
    parameter int AXI_BITS = 8,
    parameter int WIDTH = 8,
    parameter int WORDS = 1
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  in_valid,
    output logic                  in_ready,
    input  logic [     WIDTH-1:0] in_data,
    output logic                  m_tvalid,
    input  logic                  m_tready,
    output logic [  AXI_BITS-1:0] m_tdata,
    output logic [AXI_BITS/8-1:0] m_tkeep,
    output logic [AXI_BITS/8-1:0] m_tstrb,
    output logic                  m_tlast
);
  localparam int BEATS = (WIDTH + AXI_BITS - 1) / AXI_BITS;
  localparam int NW = $clog2(WORDS) > 0 ? $clog2(WORDS) : 1;
  localparam int BW = BEATS > 1 ? $clog2(BEATS) : 1;
  logic [NW-1:0] n;
  logic [BW-1:0] beat;
  logic last_beat;
  logic [BEATS*AXI_BITS-1:0] word;
  assign word = (BEATS * AXI_BITS)'(in_data);
  assign last_beat = beat == BW'(BEATS - 1);
  assign m_tvalid = in_valid;
  assign in_ready = m_tready && last_beat;
  assign m_tdata = word[beat*AXI_BITS+:AXI_BITS];
  assign m_tkeep = '1;
  assign m_tstrb = '1;
  assign m_tlast = last_beat && n == NW'(WORDS - 1);
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      n <= '0;
      beat <= '0;
    end else if (m_tvalid && m_tready) begin
      beat <= last_beat ? '0 : beat + 1'b1;
      if (last_beat) n <= m_tlast ? '0 : n + 1'b1;
    end
  end
endmodule
