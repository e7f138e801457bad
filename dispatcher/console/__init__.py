"""The agent console: the API (``api``), its service layer (``service``), the
background sweeper (``sweeper``) and the static UI (``static/``)."""
