"""Stock tracking for the workshop: items, stock movements, CSV import."""
