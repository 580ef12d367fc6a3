"""Server-rendered web UI in Simplified Chinese (Jinja2 + vendored htmx and Chart.js, no CDN)."""
