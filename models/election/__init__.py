"""The election game: voters, candidates and electoral institutions (in progress: the voting rules)."""
