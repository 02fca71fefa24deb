"""Mistakes: the catalogue of classic backprop mistakes, the mutation score, and grading a user's backprop."""

from oracle.mistakes.catalogue import CORRECT, MISTAKES, Mistake, NotApplicableError, applies

__all__ = ["CORRECT", "MISTAKES", "Mistake", "NotApplicableError", "applies"]
