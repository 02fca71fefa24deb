"""The independent references: PyTorch autograd and central finite differences."""
