"""edgeser.evaluation."""
