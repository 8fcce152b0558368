"""The FastAPI + WebSocket shell around the dispatch core and its pages (issues 4 and 5)."""
