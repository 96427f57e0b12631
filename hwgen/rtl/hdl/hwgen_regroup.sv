// hwgen RTL library: lane-width conversion of a stream (stream.h regroup).
//
// The same tensor with OUT_L instead of IN_L elements per word; one of the two divides the other.
// Splitting: each input word leaves as IN_L/OUT_L words, straight through (no storage).
// Merging: OUT_L/IN_L input words are collected in a register; one input word per cycle.
module hwgen_regroup #(
    parameter int W = 8,  // element width
    parameter int IN_L = 1,
    parameter int OUT_L = 1
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               in_valid,
    output logic               in_ready,
    input  logic [IN_L*W-1:0]  in_data,
    output logic               out_valid,
    input  logic               out_ready,
    output logic [OUT_L*W-1:0] out_data
);
  if (IN_L == OUT_L) begin : g_pass
    assign out_valid = in_valid;
    assign in_ready = out_ready;
    assign out_data = in_data;
    // (no state)
    logic unused;
    assign unused = &{1'b0, clk, rst_n};
  end else if (IN_L > OUT_L) begin : g_split
    localparam int N = IN_L / OUT_L;
    localparam int PW = $clog2(N);
    localparam logic [PW-1:0] LAST = PW'(N - 1);
    logic [PW-1:0] part;
    assign out_valid = in_valid;
    assign out_data = in_data[part*OUT_L*W+:OUT_L*W];
    assign in_ready = out_ready && part == LAST;
    always_ff @(posedge clk) begin
      if (!rst_n) part <= '0;
      else if (out_valid && out_ready) part <= part == LAST ? '0 : part + 1'b1;
    end
  end else begin : g_merge
    localparam int N = OUT_L / IN_L;
    localparam int PW = $clog2(N);
    localparam logic [PW-1:0] LAST = PW'(N - 1);
    logic [PW-1:0] part;
    logic [OUT_L*W-1:0] acc;
    logic en;
    assign en = !out_valid || out_ready;
    assign in_ready = en;
    assign out_data = acc;
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        part <= '0;
        out_valid <= 1'b0;
      end else if (en) begin
        out_valid <= in_valid && part == LAST;
        if (in_valid) part <= part == LAST ? '0 : part + 1'b1;
      end
    end
    always_ff @(posedge clk) begin
      if (en && in_valid) acc[part*IN_L*W+:IN_L*W] <= in_data;
    end
  end
endmodule
