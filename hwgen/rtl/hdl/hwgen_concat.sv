// hwgen RTL library: channel concatenation, the join of a Fire module.
//
// Per pixel, the C1/LANES words of stream a, then the C2/LANES words of stream b (stream.h
// concat_channels). Purely combinational steering plus a word counter; one word per cycle.
module hwgen_concat #(
    parameter int WIDTH = 8,  // LANES * element width
    parameter int WA = 1,  // words of a per pixel (C1 / LANES)
    parameter int WB = 1  // words of b per pixel (C2 / LANES)
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             a_valid,
    output logic             a_ready,
    input  logic [WIDTH-1:0] a_data,
    input  logic             b_valid,
    output logic             b_ready,
    input  logic [WIDTH-1:0] b_data,
    output logic             out_valid,
    input  logic             out_ready,
    output logic [WIDTH-1:0] out_data
);
  localparam int NW = $clog2(WA + WB);
  localparam int CW = NW > 0 ? NW : 1;
  localparam logic [CW-1:0] A_WORDS = CW'(WA);
  localparam logic [CW-1:0] LAST = CW'(WA + WB - 1);

  logic [CW-1:0] w;
  logic from_a;

  assign from_a = w < A_WORDS;
  assign out_valid = from_a ? a_valid : b_valid;
  assign out_data = from_a ? a_data : b_data;
  assign a_ready = from_a && out_ready;
  assign b_ready = !from_a && out_ready;

  always_ff @(posedge clk) begin
    if (!rst_n) w <= '0;
    else if (out_valid && out_ready) w <= w == LAST ? '0 : w + 1'b1;
  end
endmodule
