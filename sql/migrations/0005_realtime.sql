-- Chat between the parties of an assistance request, stored and relayed over its channel.
CREATE TABLE dispatch.chat_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assistance_id bigint NOT NULL REFERENCES dispatch.assistance_requests (id) ON DELETE CASCADE,
    sender_id     bigint NOT NULL REFERENCES dispatch.users (id) ON DELETE CASCADE,
    message       text NOT NULL CONSTRAINT chat_messages_message_check
                      CHECK (length(message) BETWEEN 1 AND 2000),
    sent_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_assistance_idx ON dispatch.chat_messages (assistance_id, sent_at);
