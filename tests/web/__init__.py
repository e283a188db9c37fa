"""The HTTP surface as a whole: errors, OpenAPI, routing, robustness, pages, metrics."""
