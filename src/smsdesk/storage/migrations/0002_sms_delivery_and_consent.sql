-- Delivery status per outbound SMS, and the customer's consent per service number.
ALTER TABLE sms_outbound ADD COLUMN encoding TEXT NOT NULL DEFAULT 'GSM-7';
ALTER TABLE sms_outbound ADD COLUMN segments INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sms_outbound ADD COLUMN error_code TEXT;
ALTER TABLE sms_outbound ADD COLUMN connector TEXT;
ALTER TABLE sms_outbound ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sms_outbound_provider ON sms_outbound(provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX sms_outbound_session ON sms_outbound(session_id, message_index);

CREATE TABLE sms_consent (
    service_number  TEXT NOT NULL,
    customer_number TEXT NOT NULL,
    opted_out       INTEGER NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    updated_ms      BIGINT NOT NULL,
    PRIMARY KEY (service_number, customer_number)
) {sqlite:WITHOUT ROWID};
