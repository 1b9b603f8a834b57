from .harness import bayeux, client_factory, start_server

__all__ = ["bayeux", "client_factory", "start_server"]
