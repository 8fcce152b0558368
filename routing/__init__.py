"""Travel times on road graphs and the OR-Tools optimisation facade (filled in as modules land)."""
