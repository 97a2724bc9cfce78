"""sandbox/provider."""
