"""A generic CometD (Bayeux 1.0) server: long-polling and websocket transports, wildcard
subscriptions, the ack and timesync extensions, and a deny-by-default security policy.

It knows nothing of the application: the application authenticates requests, decides what is
allowed (:class:`SecurityPolicy`), hears about sessions (:class:`SessionListener`) and delivers
messages with :meth:`BayeuxServer.deliver`.
"""

from smsdesk.bayeux.asgi import BayeuxEndpoint
from smsdesk.bayeux.policy import Rejection, SecurityPolicy, SessionListener, SharedClients, Unavailable
from smsdesk.bayeux.server import BayeuxServer
from smsdesk.bayeux.session import ServerSession
from smsdesk.bayeux.settings import BayeuxSettings

__all__ = [
    "BayeuxEndpoint",
    "BayeuxServer",
    "BayeuxSettings",
    "Rejection",
    "SecurityPolicy",
    "ServerSession",
    "SessionListener",
    "SharedClients",
    "Unavailable",
]
