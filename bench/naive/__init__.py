"""The naive baseline: the DCRF README pattern, as small as it gets (see bench/README.md)."""
