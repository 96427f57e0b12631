// hwgen RTL library: FIFO on a ready/valid stream.
//
// DEPTH words of WIDTH bits. One word in and one word out per cycle (full throughput from
// DEPTH = 2 on). in_ready depends only on the fill level, never on out_ready, so chains of
// FIFOs and kernels have no combinational ready paths through them.
module hwgen_fifo #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             in_valid,
    output logic             in_ready,
    input  logic [WIDTH-1:0] in_data,
    output logic             out_valid,
    input  logic             out_ready,
    output logic [WIDTH-1:0] out_data
);
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int CW = $clog2(DEPTH + 1);
  localparam logic [AW-1:0] LAST = AW'(DEPTH - 1);
  localparam logic [CW-1:0] FULL = CW'(DEPTH);

  logic [WIDTH-1:0] mem[DEPTH];
  logic [AW-1:0] rd, wr;
  logic [CW-1:0] count;
  logic push, pop;

  assign in_ready = count != FULL;
  assign out_valid = count != '0;
  assign out_data = mem[rd];
  assign push = in_valid && in_ready;
  assign pop = out_valid && out_ready;

  always_ff @(posedge clk) begin
    if (push) mem[wr] <= in_data;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd <= '0;
      wr <= '0;
      count <= '0;
    end else begin
      if (push) wr <= wr == LAST ? '0 : wr + 1'b1;
      if (pop) rd <= rd == LAST ? '0 : rd + 1'b1;
      if (push && !pop) count <= count + 1'b1;
      else if (pop && !push) count <= count - 1'b1;
    end
  end
endmodule
