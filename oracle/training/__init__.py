"""Checking real PyTorch training against manual_bp: ``watch`` (the user's own loop, step by
step) and ``check_torch_step`` (one textbook step), on models (models), losses (losses) and
optimizers (optimizers) read into manual_bp's; capture records a step, replay recomputes and
compares it, diagnose explains the classic loop bugs, result reports."""
