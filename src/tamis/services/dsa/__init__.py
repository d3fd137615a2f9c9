"""The EU Digital Services Act: statements of reasons, their settings and submission, and the transparency report."""
