"""The HLS backend: renders the design (hwgen.design) as a Vitis HLS project, the Python
counterpart of the kernel library in hls_templates/hwgen/."""
