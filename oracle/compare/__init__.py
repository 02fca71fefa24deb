"""Comparison: records, the tolerance policy and its comparison scales, and the cross-check against torch."""
