// hwgen simulation model (not for synthesis): the board's DDR behind its one memory controller,
// serving PORTS AXI4 read slaves (AR and R channels; port p's signals at [p*W +: W] of each
// packed vector).
//
// Memory: MEM_WORDS 64-bit words, $readmemh(MEM_FILE): one 16-hex-digit word per line, word i =
// bytes [8i, 8i + 8) of the image (ddr_weights.bin) read little-endian; byte address a is word a/8.
// Timing:
//   * each port queues up to QUEUE accepted requests (ARREADY low when full), served in order;
//   * a request's first beat leaves no earlier than LATENCY cycles after its AR handshake, its
//     other beats as bandwidth allows, RLAST on its last;
//   * all ports together get at most BYTES_PER_CYCLE_NUM / BYTES_PER_CYCLE_DEN bytes per cycle,
//     8 per beat: a token bucket refilled by NUM each cycle, a beat costing 8*DEN (the bucket
//     holds at most one beat per port, or one cycle's refill if that is more), shared round-robin
//     among the ports that have a beat due and a free R register;
//   * the R register of a port holds its beat until RREADY.
// Counters (per port, 32 bits each): beats delivered (R handshakes); stall_bw = cycles with a beat
// due (latency passed, R register free) that the shared bandwidth held back; stall_lat = cycles
// with a request queued whose first beat waits for the latency. `errors` counts protocol
// violations, each also reported with $error: ARSIZE != 3, ARBURST != INCR, more than MAX_LEN
// beats, an address not 8-byte aligned, a burst crossing a 4 KiB boundary, a burst outside the
// memory (its beats read as zero with RRESP = SLVERR).
module hwgen_ddr_model #(
    parameter int PORTS = 1,
    parameter int ADDR_W = 32,
    parameter int MEM_WORDS = 1024,
    parameter MEM_FILE = "",
    parameter int LATENCY = 64,
    parameter int BYTES_PER_CYCLE_NUM = 8,
    parameter int BYTES_PER_CYCLE_DEN = 1,
    parameter int QUEUE = 4,
    parameter int MAX_LEN = 16  // beats per burst (Zynq-7000 HP ports are AXI3: 16)
) (
    input  logic                    clk,
    input  logic                    rst_n,
    input  logic [PORTS*ADDR_W-1:0] s_araddr,
    input  logic [     PORTS*8-1:0] s_arlen,
    input  logic [     PORTS*3-1:0] s_arsize,
    input  logic [     PORTS*2-1:0] s_arburst,
    input  logic [       PORTS-1:0] s_arvalid,
    output logic [       PORTS-1:0] s_arready,
    output logic [    PORTS*64-1:0] s_rdata,
    output logic [     PORTS*2-1:0] s_rresp,
    output logic [       PORTS-1:0] s_rlast,
    output logic [       PORTS-1:0] s_rvalid,
    input  logic [       PORTS-1:0] s_rready,
    output logic [    PORTS*32-1:0] beats,
    output logic [    PORTS*32-1:0] stall_bw,
    output logic [    PORTS*32-1:0] stall_lat,
    output logic [            31:0] errors
);
  // (the state is updated with blocking assignments in one clocked process, its outputs with
  // non-blocking ones: a behavioural model, with integer variables not all of whose bits matter)
  /* verilator lint_off BLKSEQ */
  /* verilator lint_off UNUSEDSIGNAL */
  localparam longint COST = 8 * BYTES_PER_CYCLE_DEN;  // one beat, in token units
  localparam longint NUM = longint'(BYTES_PER_CYCLE_NUM);
  localparam longint CAP = COST * PORTS > NUM ? COST * PORTS : NUM;
  localparam longint LAT = longint'(LATENCY);
  localparam longint WORDS = longint'(MEM_WORDS);
  localparam int MAW = $clog2(MEM_WORDS) > 0 ? $clog2(MEM_WORDS) : 1;

  logic [63:0] mem[MEM_WORDS];
  initial begin
    if (MEM_FILE != "") $readmemh(MEM_FILE, mem);
  end

  // per port: a queue of accepted requests, the beat of the head request
  longint unsigned q_word[PORTS][QUEUE];  // first word
  int q_len[PORTS][QUEUE];  // beats
  longint q_time[PORTS][QUEUE];  // cycle of the AR handshake
  bit q_bad[PORTS][QUEUE];  // out of range
  int q_head[PORTS], q_count[PORTS], q_beat[PORTS];
  int n_beats[PORTS], n_bw[PORTS], n_lat[PORTS];
  int n_err;
  longint now, tokens;
  int rr;
  bit rv[PORTS];

  for (genvar p = 0; p < PORTS; p++) begin : g_count
    assign beats[p*32+:32] = n_beats[p];
    assign stall_bw[p*32+:32] = n_bw[p];
    assign stall_lat[p*32+:32] = n_lat[p];
  end
  assign errors = n_err;

  task automatic violation(input int p, input string what);
    n_err = n_err + 1;
    $error("hwgen_ddr_model port %0d: %s", p, what);
  endtask

  always @(posedge clk) begin
    if (!rst_n) begin
      now = 0;
      tokens = 0;
      rr = 0;
      n_err = 0;
      for (int p = 0; p < PORTS; p++) begin
        q_head[p] = 0;
        q_count[p] = 0;
        q_beat[p] = 0;
        n_beats[p] = 0;
        n_bw[p] = 0;
        n_lat[p] = 0;
        rv[p] = 0;
      end
      s_arready <= '0;
      s_rvalid <= '0;
      s_rlast <= '0;
      s_rresp <= '0;
      s_rdata <= '0;
    end else begin
      automatic int served = -1;
      now = now + 1;
      tokens = tokens + NUM > CAP ? CAP : tokens + NUM;
      // R handshakes of the cycle that just ended
      for (int p = 0; p < PORTS; p++) begin
        if (s_rvalid[p] && s_rready[p]) begin
          n_beats[p] = n_beats[p] + 1;
          rv[p] = 0;
        end
      end
      // beats, round-robin from rr
      for (int i = 0; i < PORTS; i++) begin
        automatic int p = (rr + i) % PORTS;
        automatic int h = q_head[p];
        if (q_count[p] != 0) begin
          if (q_beat[p] == 0 && now < q_time[p][h] + LAT) n_lat[p] = n_lat[p] + 1;
          else if (!rv[p]) begin
            if (tokens >= COST) begin
              automatic longint unsigned w = q_word[p][h] + longint'(q_beat[p]);
              tokens = tokens - COST;
              served = p;
              rv[p] = 1;
              s_rdata[p*64+:64] <= q_bad[p][h] ? 64'd0 : mem[MAW'(w)];
              s_rresp[p*2+:2] <= q_bad[p][h] ? 2'b10 : 2'b00;
              s_rlast[p] <= q_beat[p] == q_len[p][h] - 1;
              if (q_beat[p] == q_len[p][h] - 1) begin
                q_beat[p] = 0;
                q_head[p] = (h + 1) % QUEUE;
                q_count[p] = q_count[p] - 1;
              end else q_beat[p] = q_beat[p] + 1;
            end else n_bw[p] = n_bw[p] + 1;
          end
        end
      end
      if (served >= 0) rr = (served + 1) % PORTS;
      // AR handshakes of the cycle that just ended
      for (int p = 0; p < PORTS; p++) begin
        if (s_arvalid[p] && s_arready[p]) begin
          automatic longint unsigned a = longint'(s_araddr[p*ADDR_W+:ADDR_W]);
          automatic int len = int'(s_arlen[p*8+:8]) + 1;
          automatic int t = (q_head[p] + q_count[p]) % QUEUE;
          automatic bit bad = 0;
          if (s_arsize[p*3+:3] != 3'd3) violation(p, $sformatf("ARSIZE %0d, expected 3", s_arsize[p*3+:3]));
          if (s_arburst[p*2+:2] != 2'b01) violation(p, "ARBURST is not INCR");
          if (len > MAX_LEN) violation(p, $sformatf("burst of %0d beats > %0d", len, MAX_LEN));
          if (a % 8 != 0) violation(p, $sformatf("address 0x%0h not 8-byte aligned", a));
          if (a / 4096 != (a + 8 * longint'(len) - 1) / 4096)
            violation(p, $sformatf("burst 0x%0h + %0d beats crosses a 4 KiB boundary", a, len));
          if (a / 8 + longint'(len) > WORDS) begin
            violation(p, $sformatf("burst 0x%0h + %0d beats outside the %0d-word memory", a, len,
                                   MEM_WORDS));
            bad = 1;
          end
          q_word[p][t] = a / 8;
          q_len[p][t] = len;
          q_time[p][t] = now - 1;  // the handshake was in the cycle that just ended
          q_bad[p][t] = bad;
          q_count[p] = q_count[p] + 1;
        end
      end
      for (int p = 0; p < PORTS; p++) begin
        s_arready[p] <= q_count[p] < QUEUE;
        s_rvalid[p] <= rv[p];
      end
    end
  end
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_on BLKSEQ */
endmodule
