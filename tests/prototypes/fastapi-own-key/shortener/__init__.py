"""Short links for the marketing team: custom codes, click counts, a key for writes."""
