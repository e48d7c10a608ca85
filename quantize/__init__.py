"""edgeser.quantize."""
