"""The result store: the SQLite result cache, content keys, and Outcome (one run's measurements and the payoffs read from it)."""
