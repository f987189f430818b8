"""The benchmark: load generator, baseline app, data seeding and the `make bench` runner (never part of tests)."""
