-- Customer history: the earlier sessions of one customer number in a contact center, newest first.
CREATE INDEX sms_sessions_history ON sms_sessions(tenant_id, customer_number, received_ms);
