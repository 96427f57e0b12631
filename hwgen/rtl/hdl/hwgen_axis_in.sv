// hwgen RTL library: AXI4-Stream slave -> internal stream (axi.h axis_to_stream).
//
// Packing (hwgen.pynq_driver): lane l of the word in TDATA bits [l*W, l*W + W); bits above
// LANES*W are zero. TKEEP, TSTRB and TLAST are accepted and ignored (the frame length is fixed).
module hwgen_axis_in #(
    parameter int AXI_BITS = 8,
    parameter int WIDTH = 8  // LANES * W
) (
    input  logic                  s_tvalid,
    output logic                  s_tready,
    input  logic [  AXI_BITS-1:0] s_tdata,
    output logic                  out_valid,
    input  logic                  out_ready,
    output logic [     WIDTH-1:0] out_data
);
  assign out_valid = s_tvalid;
  assign s_tready = out_ready;
  assign out_data = s_tdata[WIDTH-1:0];
  if (AXI_BITS > WIDTH) begin : g_pad
    logic unused;
    assign unused = ^s_tdata[AXI_BITS-1:WIDTH];
  end
endmodule
