"""Pages people read: the reviewers' web pages and the offline scan report (Jinja2 templates, static files)."""
