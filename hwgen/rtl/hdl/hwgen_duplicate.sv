// hwgen RTL library: one stream into two (the fork in front of a Fire module's expand convs).
//
// A word leaves on both outputs in the same cycle; it waits while either output is not ready
// (stream.h duplicate: it buffers nothing, so the expand1x1 branch's FIFO must hold what the
// expand3x3 window reads ahead -- hwgen.hls.kernels.fire_fifo_depths).
module hwgen_duplicate #(
    parameter int WIDTH = 8
) (
    input  logic             in_valid,
    output logic             in_ready,
    input  logic [WIDTH-1:0] in_data,
    output logic             a_valid,
    input  logic             a_ready,
    output logic [WIDTH-1:0] a_data,
    output logic             b_valid,
    input  logic             b_ready,
    output logic [WIDTH-1:0] b_data
);
  assign in_ready = a_ready && b_ready;
  assign a_valid = in_valid && b_ready;
  assign b_valid = in_valid && a_ready;
  assign a_data = in_data;
  assign b_data = in_data;
endmodule
