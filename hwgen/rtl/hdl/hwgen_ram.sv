// hwgen RTL library: a simple dual-port RAM, one write port in SUBS equal sub-words, one
// synchronous read port, bound to the memory the estimator chose (hwgen.design.cost), as the HLS
// kernels bind theirs with BIND_STORAGE:
//   STYLE "block" -> (* ram_style = "block" *), "distributed" -> (* ram_style = "distributed" *)
//   (Vivado, UG901 RAM_STYLE; Yosys' memory_libmap reads the same attribute), "auto": the tool's
//   choice. Attribute values must be literals, hence one declaration per style.
module hwgen_ram #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2,
    parameter int SUBS = 1,  // sub-words of a write (WIDTH / SUBS bits each)
    parameter STYLE = "auto"
) (
    input  logic                                         clk,
    input  logic [                             SUBS-1:0] we,  // sub-word b of wdata -> of waddr
    input  logic [(DEPTH > 1 ? $clog2(DEPTH) : 1) - 1:0] waddr,
    input  logic [                            WIDTH-1:0] wdata,
    input  logic                                         re,
    input  logic [(DEPTH > 1 ? $clog2(DEPTH) : 1) - 1:0] raddr,
    output logic [                            WIDTH-1:0] rdata  // word raddr, a cycle after re
);
  localparam int SW = WIDTH / SUBS;
  localparam int SL = 8 * 16;  // string parameters compared at one width (no width warnings)
  if (SL'(STYLE) == SL'("block")) begin : g_block
    (* ram_style = "block" *) logic [WIDTH-1:0] mem[DEPTH];
    for (genvar b = 0; b < SUBS; b++) begin : g_wr
      always_ff @(posedge clk) if (we[b]) mem[waddr][b*SW+:SW] <= wdata[b*SW+:SW];
    end
    always_ff @(posedge clk) if (re) rdata <= mem[raddr];
  end else if (SL'(STYLE) == SL'("distributed")) begin : g_lut
    (* ram_style = "distributed" *) logic [WIDTH-1:0] mem[DEPTH];
    for (genvar b = 0; b < SUBS; b++) begin : g_wr
      always_ff @(posedge clk) if (we[b]) mem[waddr][b*SW+:SW] <= wdata[b*SW+:SW];
    end
    always_ff @(posedge clk) if (re) rdata <= mem[raddr];
  end else begin : g_auto
    logic [WIDTH-1:0] mem[DEPTH];
    for (genvar b = 0; b < SUBS; b++) begin : g_wr
      always_ff @(posedge clk) if (we[b]) mem[waddr][b*SW+:SW] <= wdata[b*SW+:SW];
    end
    always_ff @(posedge clk) if (re) rdata <= mem[raddr];
  end
endmodule
