"""The oracle: references, comparison, worked examples, mistakes and grading, reports, training checks, the CLI."""
