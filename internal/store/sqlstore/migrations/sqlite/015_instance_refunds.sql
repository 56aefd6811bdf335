-- A refunded plan instance's refund, kept a day so that RefundInstance
-- retried with the same ClientToken answers as the first call did.
CREATE TABLE instance_refunds (
    instance_id  TEXT   NOT NULL PRIMARY KEY,
    client_token TEXT   NOT NULL,
    order_id     TEXT   NOT NULL,
    refunded_us  BIGINT NOT NULL
);
CREATE INDEX instance_refunds_refunded ON instance_refunds (refunded_us);
