"""Service data: reading an extract where it lives, aggregating it by LSOA, and synthetic extracts."""
