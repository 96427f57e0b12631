"""The synthesis-facing structure of a generated project, checked on its text (no Vitis HLS here):
every array and deep stream bound to the storage the estimator chose (report.json), weight ROMs
read through word counters, the top wiring only streams, canonical dataflow calls, 32-bit
counters, true dependence distances in the pooling kernels and AXI3-sized DDR bursts."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import onnx_factory as F
from hwgen.cli import main
from hwgen.design import cost
from hwgen.design.names import cpp_ident
from hwgen.design.schedule import DDR_BURST_LATENCY, DDR_MAX_BURST, ddr_fetch_cycles

#: report.json storage key -> the config constant the kernel selects its binding with
CONSTS = {"weights": "W_STORAGE", "xbuf": "XBUF_STORAGE", "window": "WIN_STORAGE",
          "obuf": "OBUF_STORAGE", "acc": "ACC_STORAGE", "m": "M_STORAGE"}
KINDS = {"LUTRAM": "lutram", "BRAM": "bram", "REG": "registers"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """SqueezeNet 1.1 at 64x64 for the PYNQ-Z2 (Zynq-7000: AXI3 weight ports), no vectors."""
    root = tmp_path_factory.mktemp("structure")
    model = F.write(F.torch_export("1_1", 13, dynamo=False, input_size=64, nonzero_bias=True),
                    root / "sq64.onnx")
    out = root / "p"
    assert main(["generate", str(model), "-o", str(out)]) == 0
    fw = out / "firmware"
    return {"dir": out, "report": json.loads((out / "report.json").read_text()),
            "top": (fw / "hwgen_top.cpp").read_text(),
            "params": (fw / "parameters.h").read_text(),
            "headers": {h.name: h.read_text() for h in sorted((fw / "hwgen").glob("*.h"))},
            "weights": {h.stem: h.read_text() for h in sorted((fw / "weights").glob("*.h"))}}


def _code_lines(text: str):
    """(line number, line) of the synthesised code: comments stripped, the fast C-simulation
    branches (#if HWGEN_CSIM_NATIVE ... #else) left out."""
    out, skip, depth, at = [], False, 0, -1
    for i, line in enumerate(text.splitlines()):
        s = line.split("//")[0].rstrip()
        st = s.strip()
        if st.startswith("#if"):
            depth += 1
            if st == "#if HWGEN_CSIM_NATIVE" and not skip:
                skip, at = True, depth
                continue
        elif st.startswith("#else") and skip and depth == at:
            skip = False
            continue
        elif st.startswith("#endif"):
            if skip and depth == at:
                skip = False
            depth -= 1
            continue
        if not skip:
            out.append((i, s))
    return out


_DECL = re.compile(r"^\s+(?!return\b)(?:const\s+)?(?:typename\s+)?[\w:<>, ]*?[\w>]\s+(\w+)"
                   r"((?:\[[^\]]+\])+);$")


def _local_arrays(text: str):
    """(name, dims, the pragma lines that follow, enclosing specialisation tag) of each local array
    declaration in a kernel header."""
    lines = _code_lines(text)
    found = []
    for k, (_, line) in enumerate(lines):
        m = _DECL.match(line)
        if not m or "(" in line:
            continue
        pragmas = []
        for _, nxt in lines[k + 1:]:
            if nxt.strip().startswith("#pragma"):
                pragmas.append(re.sub(r"\s+", " ", nxt.strip()))
            elif nxt.strip():
                break
        before = "\n".join(ln for _, ln in lines[:k])
        tags = re.findall(r"struct \w+<(?:CFG|G), STORE_(\w+)> \{", before)
        tag = tags[-1] if tags else None
        found.append((m.group(1), m.group(2).count("["), pragmas, tag))
    return found


def test_every_kernel_array_has_exactly_one_binding(project):
    """Each array a kernel declares is registers (completely partitioned) or has exactly one
    BIND_STORAGE, whose impl is the storage kind of the specialisation that declares it."""
    seen = 0
    for name, text in project["headers"].items():
        if name == "types.h":  # types only (Pack's member array is the word, not a memory)
            continue
        for var, ndim, pragmas, tag in _local_arrays(text):
            binds = [p for p in pragmas if p.startswith(f"#pragma HLS BIND_STORAGE variable = {var} ")]
            complete = any(re.fullmatch(rf"#pragma HLS ARRAY_PARTITION variable = {var} complete "
                                        rf"dim = ({'0' if ndim > 1 else '[01]'})", p)
                           for p in pragmas)
            where = f"{name}: array {var}"
            if complete:
                assert not binds, f"{where}: registers need no storage binding"
                assert tag in (None, "REG"), f"{where}: registers in a {tag} specialisation"
                continue
            seen += 1
            assert len(binds) == 1, f"{where}: {len(binds)} BIND_STORAGE pragmas: {pragmas}"
            assert tag in ("LUTRAM", "BRAM"), f"{where}: not declared by a storage specialisation"
            assert re.search(rf"type = ram_2p impl = {KINDS[tag]}$", binds[0]), (where, binds[0])
    assert seen >= 8  # window, mvau xbuf, ddr xbuf / obuf / acc, maxima, sums (both kinds each)


def test_instantiated_storage_matches_the_report(project):
    """Per layer, the storage constants of its config struct (which pick the specialisation, and
    so the BIND_STORAGE, of each array) are exactly the estimator's choices in report.json."""
    params = project["params"]
    layers = project["report"]["layers"]
    assert all("storage" in row for row in layers), "report.json records no storage per layer"
    counted = 0
    for row in layers:
        body = re.search(rf"struct {cpp_ident(row['name'])}_config {{(.*?)\n}};", params, re.S)
        assert body, row["name"]
        consts = dict(re.findall(r"static const int (\w+_STORAGE) = hwgen::STORE_(\w+);",
                                 body.group(1)))
        want = {CONSTS[a]: kind for a, kind in row["storage"].items() if a in CONSTS}
        assert {c: KINDS[v] for c, v in consts.items()} == want, row["name"]
        if row["op"] == "conv":
            assert row["storage"]["bias"] == "lutram"
            assert row["storage"].get("weights", "ddr") == row["weights"]
        counted += len(want)
    assert counted > 60
    # the bias ROM is bound where the kernel owns it, as lutram like the estimator books it
    for h in ("conv2d.h", "conv2d_ddr.h"):
        binds = re.findall(r"BIND_STORAGE variable = bias type = rom_1p impl = (\w+)",
                           project["headers"][h])
        assert binds and set(binds) == {"lutram"}, h
    conv = project["headers"]["conv2d.h"]
    assert set(re.findall(r"BIND_STORAGE variable = weights type = rom_1p impl = (\w+)",
                          conv)) == {"lutram", "bram"}


def test_weight_roms_are_words_read_by_a_counter(project, tmp_path):
    """Weight and bias ROMs are arrays of scalar words ap_uint<PE*SIMD*W> (ap_uint<PE*Wb>), written
    hwgen::rom_word<N> (types.h: ap_uint<N> under synthesis), each initialised from one hex string
    of N bits, lane l at bits [l*W, l*W + W) -- no struct, so no AGGREGATE anywhere -- and every
    read of them in the kernels is indexed by a bare counter that only steps by one or restarts
    at 0."""
    rows = {cpp_ident(r["name"]): r for r in project["report"]["layers"]}
    assert project["weights"]
    types = project["headers"]["types.h"]
    assert re.search(r"#ifdef __SYNTHESIS__\ntemplate <int N>\nusing rom_word = ap_uint<N>;", types)
    for layer, text in project["weights"].items():
        r = rows[layer]
        decls = re.findall(r"static const hwgen::rom_word<(\d+)> (\w+)\[(\d+)\] = \{([^;]*)\};",
                           text)
        on_chip = r["weights"] != "ddr"  # a DDR layer keeps only its bias ROM on chip
        assert [d[1] for d in decls] == [f"{layer}_w"] * on_chip + [f"{layer}_b"], layer
        assert "Pack<" not in text, layer
        lanes = [r["pe"] * r["simd"]] * on_chip + [r["pe"]]
        for (bits, _, words, body), want in zip(decls, lanes):
            hexes = re.findall(rf'hwgen::rom_word<{bits}>\("0x([0-9a-f]+)", 16\)', body)
            assert len(hexes) == int(words) == body.count("rom_word"), layer
            assert int(bits) % want == 0, layer  # lanes of equal width
            assert all(len(h) == -(-int(bits) // 4) and int(h, 16) < 1 << int(bits)
                       for h in hexes), layer
    for name, text in project["headers"].items():
        assert "#pragma HLS AGGREGATE" not in text, name
    for h in ("conv2d.h", "conv2d_ddr.h"):
        code = "\n".join(line for _, line in _code_lines(project["headers"][h]))
        reads = re.findall(r"(?<![\w.])(weights|bias)\[([^\]]+)\](?!\s*\[)", code)
        reads = [(a, i.strip()) for a, i in reads if not re.fullmatch(r"conv_traits<CFG>::\w+", i)]
        assert reads, h
        for array, index in reads:
            assert re.fullmatch(r"[a-z_]\w*", index), f"{h}: {array}[{index}]"
            updates = re.findall(rf"(?<![\w.]){index}\s*(\+\+|--|[-+*/]?=(?!=))\s*([^;,)]*)", code)
            updates += [("++", "") for _ in re.findall(rf"\+\+{index}\b", code)]
            for op, rhs in updates:
                assert op == "++" or (op == "=" and rhs.strip() in ("0", "sf = nf = 0", "nf = 0")), \
                    f"{h}: counter {index} of {array}[] updated by '{op} {rhs}'"


def test_deep_streams_are_bound_as_the_estimator_chose(project):
    top, fifos = project["top"], project["report"].get("fifos")
    assert fifos, "report.json records no FIFO storage"
    depth = dict(re.findall(r"#pragma HLS STREAM variable = (\w+) depth = (\d+)", top))
    assert {f["name"]: f["depth"] for f in fifos} == {k: int(v) for k, v in depth.items()}
    deep = 0
    for f in fifos:
        binds = re.findall(rf"#pragma HLS BIND_STORAGE variable = {f['name']} type = fifo "
                           rf"impl = (\w+)", top)
        if f["depth"] > cost.SRL_DEPTH:
            deep += 1
            assert binds == [f["storage"]] == [cost.fifo_impl(f["depth"], f["bits"])], f
        else:
            assert binds == [] and f["storage"] == "srl", f
    assert deep >= 8  # each Fire module's expand1x1 branch
    for name, text in project["headers"].items():  # streams inside kernels stay shallow (SRL)
        for d in re.findall(r"#pragma HLS STREAM variable = \w+ depth = (\d+)", text):
            assert int(d) <= cost.SRL_DEPTH, name


def test_top_only_wires_streams_in_canonical_dataflow(project):
    top = project["top"]
    for p in re.findall(r"#pragma HLS (\w+)[^\n]*", top):
        assert p in ("INTERFACE", "DATAFLOW", "STREAM", "BIND_STORAGE"), p
    assert "type = fifo" in top and not re.search(r"BIND_STORAGE(?!.*type = fifo)", top)
    body = top[top.index("#pragma HLS DATAFLOW"):]
    calls = re.findall(r"\n  (hwgen::\w+<\w+>)\(([^;]*)\);", body)
    assert len(calls) > 40
    for fn, args in calls:
        for a in args.split(","):
            assert re.fullmatch(r"\w+", a.strip()), f"{fn}: argument {a.strip()!r}"
    # inside the kernels' dataflow regions too: streams, arrays, no expressions or tag objects
    for name, text in project["headers"].items():
        for m in re.finditer(r"#pragma HLS DATAFLOW", text):
            region = text[m.end():text.index("\n}", m.end())]
            for fn, args in re.findall(r"([\w:]+(?:<[^;]*?>)?(?:::run)?)\(([^;]*)\);", region):
                if re.fullmatch(r'\s*"[^"]*"\s*', args) or fn == "static_assert":
                    continue  # a stream's name: hls::stream<...> s("name")
                for a in args.split(","):
                    assert re.fullmatch(r"\w+", a.strip()), f"{name}: {fn}({args})"


def test_counters_are_32_bit():
    from hwgen.resources import data_dir

    for h in sorted((data_dir("hls_templates") / "hwgen").glob("*.h")):
        code = "\n".join(line for _, line in _code_lines(h.read_text()))
        assert not re.search(r"\bunsigned long\b(?! long)", code), h.name
        assert not re.search(r"for \((unsigned )?long", code), h.name


def test_pool_updates_state_their_dependence_distance(project):
    pool = project["headers"]["pool.h"]
    for var in ("m", "acc"):
        assert re.search(rf"#pragma HLS DEPENDENCE variable = {var} inter distance = CW true",
                         pool), var
    ddr = project["headers"]["conv2d_ddr.h"]
    assert "#pragma HLS DEPENDENCE variable = acc inter distance = BLOCK true" in ddr
    # registers below the estimator's depth threshold, LUTRAM from it on
    assert cost.rmw_memory(cost.RMW_REG_DEPTH, 8)[1] == "registers"
    assert cost.rmw_memory(cost.RMW_REG_DEPTH + 1, 8)[1] == "lutram"


def test_zynq7_weight_ports_burst_16_beats(project):
    top = project["top"]
    lines = re.findall(r"#pragma HLS INTERFACE mode = m_axi[^\n]*", top)
    assert lines
    for line in lines:
        assert re.search(r"max_read_burst_length = (\d+)", line).group(1) == str(DDR_MAX_BURST)
    # the estimator's fetch model uses the same bursts: 4 bursts of 16 beats per round trip of latency + 18 cycles (hwgen_axi_read in RTL)
    trip = DDR_BURST_LATENCY + DDR_MAX_BURST + 2
    assert DDR_MAX_BURST == 16 and ddr_fetch_cycles(6400) == DDR_BURST_LATENCY + 100 * trip
    assert ddr_fetch_cycles(64) == DDR_BURST_LATENCY + trip
