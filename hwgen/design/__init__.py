"""The dataflow design, one for every backend: folding, stages (cycles, resources, storage, where
the weights live), streams and their depths, the estimate and the folding optimiser. The HLS
backend (hwgen.hls) and the RTL backend (hwgen.rtl) each render this one design; neither imports
the other."""
