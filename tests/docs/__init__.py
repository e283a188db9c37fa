"""The manual against the code: the module map, the generated pages, the README front page."""
