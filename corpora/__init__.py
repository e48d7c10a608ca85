"""edgeser.corpora."""
