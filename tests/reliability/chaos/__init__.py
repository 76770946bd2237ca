"""The chaos run (issue 12): pmhub never loses an event and never does a thing twice.

`python -m tests.reliability.chaos` (what `make chaos` runs at full size) plays each
scenario (see `scenario.py`) against real `pmhub serve` processes and the vendor fakes,
counts on the fakes what was done twice, what is missing, which acknowledged
deliveries were lost and which people's changes, and writes RELIABILITY.md.
"""
