-- The writes of charge_writes.sql for 8 charges at a time, one statement each
-- (multi-row), for pgbench: what batching the durable writes of concurrent
-- charges (a group committer in the gateway) could reach. Not run by
-- bench/run.sh; with -c 8 it keeps 64 charges in flight:
--   pgbench -n -c 8 -j 2 -T 20 -f bench/charge_writes_batched.sql postgres://…
-- charges/s is its tps x 8.
\set r random(1, 900000000000000000)
INSERT INTO charges (id, merchant_id, idempotency_key, livemode, status, amount, currency, carrier,
    msisdn_enc, msisdn_index, msisdn_masked, description, created_at, updated_at)
  SELECT 'ch_b' || :client_id || '_' || :r || '_' || g, 'mer_bench', 'bench-' || :client_id || '-' || :r || '_' || g, false, 'processing', 100, 'KRW', 'skt',
    'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', md5(:r::text || g), '+82 10-****-0001', 'bench', now(), now()
  FROM generate_series(1, 8) g;
BEGIN;
UPDATE charges SET status = 'succeeded', carrier_reference = 'pay_' || :r, succeeded_at = now(), updated_at = now()
  WHERE id IN (SELECT 'ch_b' || :client_id || '_' || :r || '_' || g FROM generate_series(1, 8) g) AND status = 'processing';
INSERT INTO ledger_entries (merchant_id, charge_id, account, amount, currency, created_at)
  SELECT 'mer_bench', 'ch_b' || :client_id || '_' || :r || '_' || g, a, v, 'KRW', now()
  FROM generate_series(1, 8) g, (VALUES ('carrier_receivable', 100), ('merchant_payable', -100)) x(a, v);
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  SELECT 'evt_b' || :client_id || '_' || :r || '_' || g, 'mer_bench', false, 'charge.succeeded', 'ch_b' || :client_id || '_' || :r || '_' || g,
    '{"id":"ch_b","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()
  FROM generate_series(1, 8) g;
END;
