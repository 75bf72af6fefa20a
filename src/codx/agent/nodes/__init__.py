"""Graph nodes, one job each; each returns a partial state update."""
