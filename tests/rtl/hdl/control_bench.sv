// hwgen_control in front of a stand-in streaming datapath, wired as the generated top wires it:
// in_r gated by in_enable, out_r gated by out_enable, ap_done from the output's TLAST handshake.
// The datapath is a FIFO (a frame of WORDS words fits, plus one word of the next) and the
// library's AXI4-Stream output (TLAST every WORDS words): a frame of WORDS bytes in, the same
// bytes out.
module control_bench #(
    parameter int N_PTR = 3,
    parameter bit ADDR64 = 1'b0,
    parameter int WORDS = 4,
    parameter int ADDR_BITS = $clog2(16 + N_PTR * (ADDR64 ? 12 : 8))
) (
    input  logic                                    ap_clk,
    input  logic                                    ap_rst_n,
    input  logic [                   ADDR_BITS-1:0] s_axi_control_AWADDR,
    input  logic                                    s_axi_control_AWVALID,
    output logic                                    s_axi_control_AWREADY,
    input  logic [                            31:0] s_axi_control_WDATA,
    input  logic [                             3:0] s_axi_control_WSTRB,
    input  logic                                    s_axi_control_WVALID,
    output logic                                    s_axi_control_WREADY,
    output logic [                             1:0] s_axi_control_BRESP,
    output logic                                    s_axi_control_BVALID,
    input  logic                                    s_axi_control_BREADY,
    input  logic [                   ADDR_BITS-1:0] s_axi_control_ARADDR,
    input  logic                                    s_axi_control_ARVALID,
    output logic                                    s_axi_control_ARREADY,
    output logic [                            31:0] s_axi_control_RDATA,
    output logic [                             1:0] s_axi_control_RRESP,
    output logic                                    s_axi_control_RVALID,
    input  logic                                    s_axi_control_RREADY,
    /* verilator lint_off SYMRSVDWORD */
    output logic                                    interrupt,
    /* verilator lint_on SYMRSVDWORD */
    output logic [(ADDR64 ? 64 : 32) * N_PTR - 1:0] ptr,
    input  logic [                             7:0] in_r_TDATA,
    input  logic                                    in_r_TVALID,
    output logic                                    in_r_TREADY,
    output logic [                             7:0] out_r_TDATA,
    output logic                                    out_r_TVALID,
    input  logic                                    out_r_TREADY,
    output logic [                             0:0] out_r_TKEEP,
    output logic [                             0:0] out_r_TLAST
);
  logic in_enable, out_enable, q_valid, q_ready, fifo_ready, m_valid, m_ready;
  logic [7:0] q_data;
  assign in_r_TREADY = fifo_ready && in_enable;
  assign out_r_TVALID = m_valid && out_enable;
  assign m_ready = out_r_TREADY && out_enable;

  hwgen_control #(
      .N_PTR(N_PTR),
      .ADDR64(ADDR64),
      .IN_BEATS(WORDS),
      .ADDR_BITS(ADDR_BITS)
  ) u_control (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .s_axi_control_AWADDR,
      .s_axi_control_AWVALID,
      .s_axi_control_AWREADY,
      .s_axi_control_WDATA,
      .s_axi_control_WSTRB,
      .s_axi_control_WVALID,
      .s_axi_control_WREADY,
      .s_axi_control_BRESP,
      .s_axi_control_BVALID,
      .s_axi_control_BREADY,
      .s_axi_control_ARADDR,
      .s_axi_control_ARVALID,
      .s_axi_control_ARREADY,
      .s_axi_control_RDATA,
      .s_axi_control_RRESP,
      .s_axi_control_RVALID,
      .s_axi_control_RREADY,
      .interrupt,
      .ptr,
      .in_enable,
      .in_beat(in_r_TVALID && in_r_TREADY),
      .out_enable,
      .out_last(out_r_TVALID && out_r_TREADY && out_r_TLAST[0])
  );

  hwgen_fifo #(
      .WIDTH(8),
      .DEPTH(WORDS + 1)
  ) u_fifo (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .in_valid(in_r_TVALID && in_enable),
      .in_ready(fifo_ready),
      .in_data(in_r_TDATA),
      .out_valid(q_valid),
      .out_ready(q_ready),
      .out_data(q_data)
  );

  logic [0:0] tstrb;
  logic unused;
  assign unused = ^tstrb;
  hwgen_axis_out #(
      .AXI_BITS(8),
      .WIDTH(8),
      .WORDS(WORDS)
  ) u_out (
      .clk(ap_clk),
      .rst_n(ap_rst_n),
      .in_valid(q_valid),
      .in_ready(q_ready),
      .in_data(q_data),
      .m_tvalid(m_valid),
      .m_tready(m_ready),
      .m_tdata(out_r_TDATA),
      .m_tkeep(out_r_TKEEP),
      .m_tstrb(tstrb),
      .m_tlast(out_r_TLAST[0])
  );
endmodule
