// hwgen RTL library: element-wise sum of two streams on the same lanes (a Fire module's bypass).
//
// Per lane (add.h add_streams, hwgen.ops.Add.exact): each operand sign- or zero-extended and
// shifted left onto the finer fraction (ASHIFT, BSHIFT), added exactly in SW bits, then the
// output cast (hwgen_requant: ReLU if RELU, drop SHIFT fraction bits, overflow into OW bits).
// A word of each input makes one output word; the result waits in an output register, so a word
// per cycle passes while the consumer takes them.
module hwgen_add #(
    parameter int LANES = 1,
    parameter int AW = 8,
    parameter bit ASIGNED = 1,
    parameter int ASHIFT = 0,
    parameter int BW = 8,
    parameter bit BSIGNED = 1,
    parameter int BSHIFT = 0,
    parameter int SW = 10,  // signed: holds every sum (hwgen.ops.Add.sum_format)
    parameter bit RELU = 0,
    // output cast (hwgen_requant)
    parameter int SHIFT = 0,
    parameter int RND = 0,
    parameter int OW = 8,
    parameter bit OSIGNED = 1,
    parameter int OVF = 1
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                a_valid,
    output logic                a_ready,
    input  logic [LANES*AW-1:0] a_data,
    input  logic                b_valid,
    output logic                b_ready,
    input  logic [LANES*BW-1:0] b_data,
    output logic                out_valid,
    input  logic                out_ready,
    output logic [LANES*OW-1:0] out_data
);
  logic [LANES*OW-1:0] y;
  logic room, take;

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    logic signed [SW-1:0] xa, xb, s;
    assign xa = SW'($signed({ASIGNED && a_data[l*AW+AW-1], a_data[l*AW+:AW]})) <<< ASHIFT;
    assign xb = SW'($signed({BSIGNED && b_data[l*BW+BW-1], b_data[l*BW+:BW]})) <<< BSHIFT;
    assign s = xa + xb;
    hwgen_requant #(
        .XW(SW),
        .RELU(RELU),
        .SHIFT(SHIFT),
        .RND(RND),
        .OW(OW),
        .OSIGNED(OSIGNED),
        .OVF(OVF)
    ) u_cast (
        .x(s),
        .shift(1'b0),
        .y(y[l*OW+:OW])
    );
  end

  assign room = !out_valid || out_ready;
  assign take = a_valid && b_valid && room;
  assign a_ready = b_valid && room;
  assign b_ready = a_valid && room;

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else if (room) out_valid <= a_valid && b_valid;
  end
  always_ff @(posedge clk) begin
    if (take) out_data <= y;
  end
endmodule
