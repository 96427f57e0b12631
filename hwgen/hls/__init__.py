"""The HLS side of hwgen: the Python counterpart of the kernel library in hls_templates/hwgen/."""
