"""Why this prediction? Integrated gradients per row, attention against attributions row by row, kept with the run, and what-if for edited rows."""
