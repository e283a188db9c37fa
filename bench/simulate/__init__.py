"""A simulated city day against the real server: the dispatch-quality benchmark (issue 9)."""
