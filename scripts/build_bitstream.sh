#!/usr/bin/env bash
# Bitstream for a generated hwgen project: HLS synthesis and IP export, then the Vivado block design,
# implementation and overlay/<name>.bit + overlay/<name>.hwh (+ overlay/build_report.json) for PYNQ.
#   scripts/build_bitstream.sh DIR        (DIR made by `hwgen generate`)
# A project of the RTL backend (rtl/sources.f, no build_prj.tcl) needs Vivado only: vivado.tcl
# packages its SystemVerilog as the accelerator IP itself.
# HLS: `vitis-run --mode hls --tcl` (Vitis 2024.2 and newer, which deprecate `vitis_hls -f`) when it
# is on PATH, else `vitis_hls -f`. The steps reach build_prj.tcl through HWGEN_HLS_STEPS under
# vitis-run (it has no -tclargs) and through -tclargs under vitis_hls.
# Environment passed on to vivado.tcl: HWGEN_BOARD_REPO=<folder of board files> (else missing board
# files are installed from the Xilinx board store), HWGEN_ALLOW_TIMING_VIOLATION=1 (build the
# bitstream even with negative slack), HWGEN_JOBS.
# Exit status 2 (one line per problem on stderr) when a tool is not on PATH or DIR is not a project;
# 1 when a tool fails (the hwgen: lines of its log, e.g. missing board files or timing, on stderr).
set -euo pipefail

usage="usage: $(basename "$0") PROJECT_DIR"
if [ "$#" -ne 1 ]; then
    echo "$usage" >&2
    exit 2
fi
dir=$1
rtl=0
if [ -f "$dir/rtl/sources.f" ] && [ ! -f "$dir/build_prj.tcl" ]; then
    rtl=1
fi
missing=0
hls=""
if [ "$rtl" -eq 1 ]; then
    :
elif command -v vitis-run >/dev/null 2>&1; then
    hls=vitis-run
elif command -v vitis_hls >/dev/null 2>&1; then
    hls=vitis_hls
else
    echo "build_bitstream: neither 'vitis-run' (Vitis 2024.2 and newer) nor 'vitis_hls' (older) found on PATH (source the Vitis settings64.sh)" >&2
    missing=1
fi
if ! command -v vivado >/dev/null 2>&1; then
    echo "build_bitstream: 'vivado' not found on PATH (source the Vivado settings64.sh)" >&2
    missing=1
fi
if [ -n "${HWGEN_BOARD_REPO:-}" ] && [ ! -d "$HWGEN_BOARD_REPO" ]; then
    echo "build_bitstream: HWGEN_BOARD_REPO=$HWGEN_BOARD_REPO: no such folder (unpack the board files there, or unset it to install them from the Xilinx board store)" >&2
    missing=1
fi
if [ ! -d "$dir" ]; then
    echo "build_bitstream: $dir: no such folder" >&2
    missing=1
else
    needed="hwgen_project.json build_prj.tcl vivado.tcl"
    if [ "$rtl" -eq 1 ]; then
        needed="hwgen_project.json vivado.tcl"
    fi
    for f in $needed; do
        if [ ! -f "$dir/$f" ]; then
            echo "build_bitstream: $dir: not an hwgen project (no $f; create one with hwgen generate)" >&2
            missing=1
        fi
    done
fi
if [ "$missing" -ne 0 ]; then
    exit 2
fi

# the hwgen: lines of a failed tool's log (board files, DMA widths, timing), then exit 1
fail() {
    echo "build_bitstream: $1 failed" >&2
    if [ -f "$2" ]; then
        grep -h 'hwgen: ' "$2" | sed 's/^/build_bitstream: /' | sort -u >&2 || true
    fi
    exit 1
}

cd "$dir"
if [ "$rtl" -eq 1 ]; then
    echo "build_bitstream: RTL project: no HLS step"
elif [ "$hls" = vitis-run ]; then
    echo "build_bitstream: HLS synthesis and IP export ($hls)"
    HWGEN_HLS_STEPS="synth export" vitis-run --mode hls --tcl build_prj.tcl || fail vitis-run vitis_hls.log
else
    echo "build_bitstream: HLS synthesis and IP export ($hls)"
    vitis_hls -f build_prj.tcl -tclargs synth export || fail vitis_hls vitis_hls.log
fi
echo "build_bitstream: block design, implementation, bitstream (vivado)"
vivado -mode batch -nojournal -log vivado.log -source vivado.tcl || fail vivado vivado.log
echo "build_bitstream: done: $(cd overlay && ls -1 ./*.bit ./*.hwh ./build_report.json 2>/dev/null | tr '\n' ' ')"
