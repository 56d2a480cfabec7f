"""Attacks beyond plain data poisoning (the clean-label attack)."""
