"""Monte Carlo simulators, one module per topic."""
