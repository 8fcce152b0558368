"""Coverage simulation for planners on the same dispatch and routing code (issue 6)."""
