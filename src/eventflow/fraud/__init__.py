"""Fraud detection: accounts, transactions, and fraud counting."""
