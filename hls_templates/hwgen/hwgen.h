// hwgen kernel library: everything. Header-only, namespace hwgen; Vitis HLS 2022.2+ and plain g++
// (-std=c++14 or later) with the ap_types headers. See types.h for the stream conventions.
//
//   types.h   Pack<T, N> stream word, axis_t<W>, raw-integer helpers (HWGEN_CSIM_NATIVE)
//   window.h  sliding_window<G>: KxK windows with stride and padding (used by conv2d, maxpool2d)
//   conv2d.h  conv2d<CFG>: convolution + bias + ReLU; weight layout; Fire-module FIFO depths
//   conv2d_ddr.h  conv2d_ddr<CFG>: the same convolution with its weights streamed from DDR
//   pool.h    maxpool2d<CFG>, global_avgpool<CFG>
//   stream.h  concat_channels<CFG>, duplicate<CFG>, regroup<CFG>
//   add.h     add_streams<CFG>: element-wise sum (a Fire module's bypass)
//   axi.h     axis_to_stream<CFG>, stream_to_axis<CFG>
#ifndef HWGEN_HWGEN_H
#define HWGEN_HWGEN_H

#include "add.h"
#include "axi.h"
#include "conv2d.h"
#include "conv2d_ddr.h"
#include "pool.h"
#include "stream.h"
#include "types.h"
#include "window.h"

#endif  // HWGEN_HWGEN_H
