"""Services: the work behind the API, the browser UI and the command line (cases, reviewers)."""
