"""Checking real PyTorch training against manual_bp: one torch step, its model, loss and optimizer."""
