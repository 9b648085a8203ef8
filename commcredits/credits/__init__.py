"""Credits: the ledger of lots and entries, settlement of charged calls, billing details and orders."""
