"""Search rules every interface states, whichever index backend answers."""

from __future__ import annotations

# Deepest position a page may reach by offset (offset + limit), like Elasticsearch's
# max_result_window: a page costs every hit before it. Deeper asks are BadInput; cursors are
# not bounded by it.
MAX_RESULT_WINDOW = 10_000
