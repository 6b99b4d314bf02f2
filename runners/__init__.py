"""Training and timing of one cell, and the per-backend train steps."""
