"""Benchmarks: each prints its median time and the ratio to a fixed baseline measured in
the same process, so figures compare across machines."""
