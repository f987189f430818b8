"""Tooling that renders the pictures the README shows."""
