"""edgeser.models."""
