-- The node that serves each Bayeux client of a cluster, and whose copy of it is the truth while it
-- does (realtime/shared_clients.py): a node id, the one in that node's LISTEN connection's
-- application_name ('smsdesk-node <id>'). NULL: nobody yet. A single SQLite node leaves it empty.
ALTER TABLE bayeux_clients ADD COLUMN owner TEXT;
