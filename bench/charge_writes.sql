-- The durable writes one one-tap charge needs, for pgbench, on tollgate's
-- own tables (bench/run.sh migrates the database with `tollgate migrate` and
-- adds the merchant mer_bench). Two transactions, as in the gateway:
-- the intent is committed before the carrier is called; then the result,
-- two ledger entries and the event commit together.
--   pgbench -n -c 32 -j 2 -T 30 -f bench/charge_writes.sql postgres://…
\set r random(1, 9000000000000000000)
INSERT INTO charges (id, merchant_id, idempotency_key, livemode, status, amount, currency, carrier,
    msisdn_enc, msisdn_index, msisdn_masked, description, created_at, updated_at)
  VALUES ('ch_b' || :client_id || '_' || :r, 'mer_bench', 'bench-' || :client_id || '-' || :r, false, 'processing', 100, 'KRW', 'skt',
    'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', md5(:r::text), '+82 10-****-0001', 'bench', now(), now());
BEGIN;
UPDATE charges SET status = 'succeeded', carrier_reference = 'pay_' || :r, succeeded_at = now(), updated_at = now()
  WHERE id = 'ch_b' || :client_id || '_' || :r AND status = 'processing';
INSERT INTO ledger_entries (merchant_id, charge_id, account, amount, currency, created_at)
  VALUES ('mer_bench', 'ch_b' || :client_id || '_' || :r, 'carrier_receivable', 100, 'KRW', now()),
         ('mer_bench', 'ch_b' || :client_id || '_' || :r, 'merchant_payable', -100, 'KRW', now());
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  VALUES ('evt_b' || :client_id || '_' || :r, 'mer_bench', false, 'charge.succeeded', 'ch_b' || :client_id || '_' || :r,
    '{"id":"ch_b","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now());
END;
