"""Scripts that print speed, memory and consistency figures (not tests); each saves its figures
under results/benchmarks/ for the README's table (``benchmarks.record``)."""
