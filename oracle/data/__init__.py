"""Data: datasets (records, where files lie, readers), the paper's allocation of shares, and poisoning into the joint dataset."""
