"""The four properties of DA/T 70: one module each. Importing them registers their checks."""
