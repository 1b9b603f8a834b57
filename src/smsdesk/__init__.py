"""smsdesk: a GWS 8.5 SMS Session API server."""

__version__ = "0.1.0"
