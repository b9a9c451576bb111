"""Benchmarks of the Social CRM: `make bench` (python -m bench --help).

They print figures next to the raw floors measured in the same run (docs/performance.md
explains why: compare ratios, not absolute figures). They never assert on time.
They run against their own PostgreSQL database, `scrm_bench`, kept between runs.
"""
