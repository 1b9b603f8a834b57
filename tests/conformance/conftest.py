from bayeux.harness import start_server

__all__ = ["start_server"]
