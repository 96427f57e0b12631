#!/usr/bin/env bash
# Bitstream for a generated hwgen project: HLS synthesis and IP export, then the Vivado block design,
# implementation and overlay/<name>.bit + overlay/<name>.hwh for PYNQ.
#   scripts/build_bitstream.sh DIR        (DIR made by `hwgen generate`)
# Exit status 2 (one line per problem on stderr) when a tool is not on PATH or DIR is not a project.
set -euo pipefail

usage="usage: $(basename "$0") PROJECT_DIR"
if [ "$#" -ne 1 ]; then
    echo "$usage" >&2
    exit 2
fi
dir=$1
missing=0
for tool in vitis_hls vivado; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build_bitstream: '$tool' not found on PATH (source the Vitis/Vivado settings64.sh)" >&2
        missing=1
    fi
done
if [ ! -d "$dir" ]; then
    echo "build_bitstream: $dir: no such folder" >&2
    missing=1
else
    for f in hwgen_project.json build_prj.tcl vivado.tcl; do
        if [ ! -f "$dir/$f" ]; then
            echo "build_bitstream: $dir: not an hwgen project (no $f; create one with hwgen generate)" >&2
            missing=1
        fi
    done
fi
if [ "$missing" -ne 0 ]; then
    exit 2
fi

cd "$dir"
echo "build_bitstream: HLS synthesis and IP export (vitis_hls)"
vitis_hls -f build_prj.tcl -tclargs synth export
echo "build_bitstream: block design, implementation, bitstream (vivado)"
vivado -mode batch -nojournal -log vivado.log -source vivado.tcl
echo "build_bitstream: done: $(cd overlay && ls -1 ./*.bit ./*.hwh | tr '\n' ' ')"
