// hwgen_axis_in -> FIFO -> hwgen_axis_out: words of WIDTH bits over AXI_BITS-bit beats, WORDS
// words a frame (one beat per word when WIDTH <= AXI_BITS, else several, lowest bits first).
module axis_bench #(
    parameter int AXI_BITS = 8,
    parameter int WIDTH = 20,
    parameter int WORDS = 3
) (
    input  logic                  ap_clk,
    input  logic                  ap_rst_n,
    input  logic [  AXI_BITS-1:0] in_r_TDATA,
    input  logic                  in_r_TVALID,
    output logic                  in_r_TREADY,
    output logic [  AXI_BITS-1:0] out_r_TDATA,
    output logic                  out_r_TVALID,
    input  logic                  out_r_TREADY,
    output logic [AXI_BITS/8-1:0] out_r_TKEEP,
    output logic [           0:0] out_r_TLAST
);
  logic a_valid, a_ready, b_valid, b_ready;
  logic [WIDTH-1:0] a_data, b_data;
  logic [AXI_BITS/8-1:0] tstrb;
  logic unused;
  assign unused = ^tstrb;
  hwgen_axis_in #(
      .AXI_BITS(AXI_BITS),
      .WIDTH(WIDTH)
  ) u_in (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .s_tvalid(in_r_TVALID),
      .s_tready(in_r_TREADY),
      .s_tdata(in_r_TDATA),
      .out_valid(a_valid),
      .out_ready(a_ready),
      .out_data(a_data)
  );
  hwgen_fifo #(
      .WIDTH(WIDTH),
      .DEPTH(2)
  ) u_fifo (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .in_valid(a_valid),
      .in_ready(a_ready),
      .in_data(a_data),
      .out_valid(b_valid),
      .out_ready(b_ready),
      .out_data(b_data)
  );
  hwgen_axis_out #(
      .AXI_BITS(AXI_BITS),
      .WIDTH(WIDTH),
      .WORDS(WORDS)
  ) u_out (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .in_valid(b_valid),
      .in_ready(b_ready),
      .in_data(b_data),
      .m_tvalid(out_r_TVALID),
      .m_tready(out_r_TREADY),
      .m_tdata(out_r_TDATA),
      .m_tkeep(out_r_TKEEP),
      .m_tstrb(tstrb),
      .m_tlast(out_r_TLAST[0])
  );
endmodule
