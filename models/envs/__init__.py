"""PettingZoo environments: each wraps one world of a batched engine, so any MARL library can train on it."""
