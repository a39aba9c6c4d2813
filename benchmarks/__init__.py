"""Per-agent baselines (plain Python, PettingZoo, Mesa) that the batched engine is timed against."""
