// hwgen RTL library: the top's AXI4-Lite control slave and frame control.
//
// Register map: the one Vitis HLS gives the HLS backend's top (block protocol ap_ctrl_chain on
// s_axilite; UG1399 "S_AXILITE Control Register Map"), so hwgen/pynq_driver.py and the cocotb
// harness drive either top unchanged. 32-bit data, OKAY responses, unmapped offsets read 0.
//   0x00 control  bit 0 ap_start (R/W, cleared at ap_ready unless auto_restart)
//                 bit 1 ap_done (R, clear on read)     bit 2 ap_idle (R)
//                 bit 3 ap_ready (R, clear on read)    bit 4 ap_continue (R/W, self clearing)
//                 bit 7 auto_restart (R/W)             bit 9 interrupt (R)
//   0x04 global interrupt enable (bit 0)    0x08 IP interrupt enable (bit 0 done, bit 1 ready)
//   0x0c IP interrupt status (bits as IER; toggle on write)
//   then N_PTR weight pointers: at 0x10 + i*8 one 32-bit word (Zynq-7000; +4 reserved), or with
//   ADDR64 at 0x10 + i*12 low and high words (+8 reserved) -- hwgen.design.ddr.register_offset.
// The bit semantics follow the adapter Vitis generates (a *_control_s_axi.v): ap_ready and the
// ap_ready interrupt are not reported while auto_restart is set; with auto_restart ap_continue is
// asserted by the adapter itself, and ap_done is reported once the block goes idle after
// auto_restart was cleared.
//
// Frame control (the block behind the adapter, for a streaming datapath): one ap_start grants
// one frame -- the top takes input beats only while a frame is granted (in_enable), IN_BEATS of
// them; the last one is ap_ready. With auto_restart ap_start stays set, so frames follow each
// other without a gap. ap_done is the handshake of an output beat with TLAST (out_last); under
// ap_ctrl_chain it is held, and the output stalled (out_enable low), until ap_continue.
// ap_idle: no frame granted, none in flight, no ap_done held.
module hwgen_control #(
    parameter int N_PTR = 0,
    parameter bit ADDR64 = 1'b0,
    parameter int IN_BEATS = 1,  // input beats per frame
    parameter int ADDR_BITS = $clog2(16 + N_PTR * (ADDR64 ? 12 : 8))
) (
    input  logic                                             clk,
    input  logic                                             rst_n,
    input  logic [                            ADDR_BITS-1:0] s_axi_control_AWADDR,
    input  logic                                             s_axi_control_AWVALID,
    output logic                                             s_axi_control_AWREADY,
    input  logic [                                     31:0] s_axi_control_WDATA,
    input  logic [                                      3:0] s_axi_control_WSTRB,
    input  logic                                             s_axi_control_WVALID,
    output logic                                             s_axi_control_WREADY,
    output logic [                                      1:0] s_axi_control_BRESP,
    output logic                                             s_axi_control_BVALID,
    input  logic                                             s_axi_control_BREADY,
    input  logic [                            ADDR_BITS-1:0] s_axi_control_ARADDR,
    input  logic                                             s_axi_control_ARVALID,
    output logic                                             s_axi_control_ARREADY,
    output logic [                                     31:0] s_axi_control_RDATA,
    output logic [                                      1:0] s_axi_control_RRESP,
    output logic                                             s_axi_control_RVALID,
    input  logic                                             s_axi_control_RREADY,
    /* verilator lint_off SYMRSVDWORD */  // the name Vitis gives it
    output logic                                             interrupt,
    /* verilator lint_on SYMRSVDWORD */
    // pointer i at bits [i*PW +: PW], PW = 64 with ADDR64, else 32 (one unused word if N_PTR = 0)
    output logic [(ADDR64 ? 64 : 32)*(N_PTR > 0 ? N_PTR : 1)-1:0] ptr,
    output logic                                             in_enable,
    input  logic                                             in_beat,    // input TVALID && TREADY
    output logic                                             out_enable,
    input  logic                                             out_last    // output TVALID && TREADY && TLAST
);
  localparam int NP = N_PTR > 0 ? N_PTR : 1;
  localparam int PW = ADDR64 ? 64 : 32;
  localparam int STRIDE = ADDR64 ? 12 : 8;
  localparam int WA = ADDR_BITS - 2;  // word address bits
  localparam logic [WA-1:0] CTRL = WA'(0), GIE = WA'(1), IER = WA'(2), ISR = WA'(3);
  localparam int BW = IN_BEATS > 1 ? $clog2(IN_BEATS) : 1;
  localparam logic [BW-1:0] LAST_BEAT = BW'(IN_BEATS - 1);

  // ---- AXI4-Lite write: address and data taken in any order, one response each -------------
  logic aw_full, w_full, bvalid;
  logic [WA-1:0] waddr;
  logic [31:0] wdata, wmask;
  logic [3:0] wstrb;
  logic wr;  // the held write is performed this cycle
  assign s_axi_control_AWREADY = !aw_full;
  assign s_axi_control_WREADY = !w_full;
  assign s_axi_control_BVALID = bvalid;
  assign s_axi_control_BRESP = 2'b00;
  assign wr = aw_full && w_full && !bvalid;
  assign wmask = {{8{wstrb[3]}}, {8{wstrb[2]}}, {8{wstrb[1]}}, {8{wstrb[0]}}};

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      aw_full <= 1'b0;
      w_full <= 1'b0;
      bvalid <= 1'b0;
    end else begin
      if (s_axi_control_AWVALID && !aw_full) aw_full <= 1'b1;
      if (s_axi_control_WVALID && !w_full) w_full <= 1'b1;
      if (wr) begin
        aw_full <= 1'b0;
        w_full <= 1'b0;
        bvalid <= 1'b1;
      end else if (bvalid && s_axi_control_BREADY) begin
        bvalid <= 1'b0;
      end
    end
  end
  always_ff @(posedge clk) begin
    if (s_axi_control_AWVALID && !aw_full) waddr <= s_axi_control_AWADDR[ADDR_BITS-1:2];
    if (s_axi_control_WVALID && !w_full) begin
      wdata <= s_axi_control_WDATA;
      wstrb <= s_axi_control_WSTRB;
    end
  end

  logic wr_ctrl;
  assign wr_ctrl = wr && waddr == CTRL && wstrb[0];

  // ---- registers of the block protocol ------------------------------------------------------
  logic int_ap_start, int_ap_done, int_ap_idle, int_ap_ready, int_ap_continue;
  logic int_auto_restart, auto_restart_status, int_gie, int_interrupt;
  logic [1:0] int_ier, int_isr;
  logic ap_ready, ap_done, ap_idle, ap_continue;
  logic task_ap_done, task_ap_ready, auto_restart_done;
  logic rd_ctrl;  // the control register is read this cycle (clears ap_done and ap_ready)

  assign auto_restart_done = auto_restart_status && ap_idle && !int_ap_idle;
  assign task_ap_done = (ap_done && !auto_restart_status) || auto_restart_done;
  assign task_ap_ready = ap_ready && !int_auto_restart;
  assign ap_continue = int_ap_continue || auto_restart_status;
  assign interrupt = int_interrupt;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      int_ap_start <= 1'b0;
      int_ap_done <= 1'b0;
      int_ap_idle <= 1'b0;
      int_ap_ready <= 1'b0;
      int_ap_continue <= 1'b0;
      int_auto_restart <= 1'b0;
      auto_restart_status <= 1'b0;
      int_gie <= 1'b0;
      int_ier <= 2'b0;
      int_isr <= 2'b0;
      int_interrupt <= 1'b0;
    end else begin
      if (wr_ctrl && wdata[0]) int_ap_start <= 1'b1;
      else if (ap_ready) int_ap_start <= int_auto_restart;  // cleared on handshake
      if (task_ap_done) int_ap_done <= 1'b1;
      else if (rd_ctrl) int_ap_done <= 1'b0;
      int_ap_idle <= ap_idle;
      if (task_ap_ready) int_ap_ready <= 1'b1;
      else if (rd_ctrl) int_ap_ready <= 1'b0;
      int_ap_continue <= wr_ctrl && wdata[4];
      if (wr_ctrl) int_auto_restart <= wdata[7];
      if (int_auto_restart) auto_restart_status <= 1'b1;
      else if (ap_idle) auto_restart_status <= 1'b0;
      if (wr && waddr == GIE && wstrb[0]) int_gie <= wdata[0];
      if (wr && waddr == IER && wstrb[0]) int_ier <= wdata[1:0];
      for (int b = 0; b < 2; b++) begin
        if (int_ier[b] && (b == 0 ? ap_done : ap_ready)) int_isr[b] <= 1'b1;
        else if (wr && waddr == ISR && wstrb[0]) int_isr[b] <= int_isr[b] ^ wdata[b];
      end
      int_interrupt <= int_gie && |int_isr;
    end
  end

  // ---- weight pointers ------------------------------------------------------------------------
  // word address of pointer i's low word (its high word follows with ADDR64)
  function automatic logic [WA-1:0] ptr_word(input int i);
    ptr_word = WA'((16 + i * STRIDE) / 4);
  endfunction
  logic [PW-1:0] int_ptr[NP];
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      for (int i = 0; i < NP; i++) int_ptr[i] <= '0;
    end else if (wr) begin
      for (int i = 0; i < N_PTR; i++) begin
        if (waddr == ptr_word(i)) int_ptr[i][31:0] <= (wdata & wmask) | (int_ptr[i][31:0] & ~wmask);
        if (ADDR64 && waddr == ptr_word(i) + 1'b1)
          int_ptr[i][PW-1:PW-32] <= (wdata & wmask) | (int_ptr[i][PW-1:PW-32] & ~wmask);
      end
    end
  end
  for (genvar i = 0; i < NP; i++) begin : g_ptr
    assign ptr[i*PW+:PW] = int_ptr[i];
  end

  // ---- AXI4-Lite read: one outstanding, the data registered ----------------------------------
  logic rvalid;
  logic [31:0] rdata;
  logic [WA-1:0] raddr;
  logic ar_hs;
  assign ar_hs = s_axi_control_ARVALID && !rvalid;
  assign raddr = s_axi_control_ARADDR[ADDR_BITS-1:2];
  assign rd_ctrl = ar_hs && raddr == CTRL;
  assign s_axi_control_ARREADY = !rvalid;
  assign s_axi_control_RVALID = rvalid;
  assign s_axi_control_RDATA = rdata;
  assign s_axi_control_RRESP = 2'b00;

  function automatic logic [31:0] read_word(input logic [WA-1:0] a);
    logic [31:0] v;  // (Yosys takes no initialiser and no `return` in a function)
    v = '0;
    case (a)
      CTRL: begin
        v[0] = int_ap_start;
        v[1] = int_ap_done;
        v[2] = int_ap_idle;
        v[3] = int_ap_ready;
        v[4] = int_ap_continue;
        v[7] = int_auto_restart;
        v[9] = int_interrupt;
      end
      GIE: v[0] = int_gie;
      IER: v[1:0] = int_ier;
      ISR: v[1:0] = int_isr;
      default: begin
        for (int i = 0; i < N_PTR; i++) begin
          if (a == ptr_word(i)) v = int_ptr[i][31:0];
          if (ADDR64 && a == ptr_word(i) + 1'b1) v = int_ptr[i][PW-1:PW-32];
        end
      end
    endcase
    read_word = v;
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) rvalid <= 1'b0;
    else if (ar_hs) rvalid <= 1'b1;
    else if (s_axi_control_RREADY) rvalid <= 1'b0;
  end
  always_ff @(posedge clk) begin
    if (ar_hs) rdata <= read_word(raddr);
  end

  // the byte address's low bits (word access only); the strobes when there is no pointer
  logic unused;
  assign unused = ^{s_axi_control_AWADDR[1:0], s_axi_control_ARADDR[1:0], wmask};

  // ---- frame control: the block behind the adapter ------------------------------------------
  logic grant, done_hold, last_in, start;
  logic [BW-1:0] beats;
  logic [7:0] open_frames;  // started, last output beat not yet sent
  assign last_in = in_beat && beats == LAST_BEAT;
  assign ap_ready = last_in;
  // a frame starts when ap_start is seen with no frame granted, or, with auto_restart (ap_start
  // stays set), right at the previous frame's last input beat
  assign start = int_ap_start && (!grant || (last_in && int_auto_restart));
  assign ap_done = out_last || done_hold;
  assign ap_idle = !grant && open_frames == '0 && !done_hold;
  assign in_enable = grant;
  assign out_enable = !done_hold;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      grant <= 1'b0;
      beats <= '0;
      done_hold <= 1'b0;
      open_frames <= '0;
    end else begin
      if (start) grant <= 1'b1;
      else if (last_in) grant <= 1'b0;
      if (in_beat) beats <= last_in ? '0 : beats + 1'b1;
      done_hold <= ap_done && !ap_continue;
      if (start && !out_last) open_frames <= open_frames + 1'b1;
      else if (out_last && !start && open_frames != '0) open_frames <= open_frames - 1'b1;
    end
  end
endmodule
