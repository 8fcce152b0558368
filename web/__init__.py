"""The FastAPI + WebSocket shell around the dispatch core, and the pages it serves."""
