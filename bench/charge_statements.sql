-- Every statement a one-tap charge makes PostgreSQL run (bench/statements.sh
-- lists them), in the gateway's order and transactions, for pgbench: what
-- PostgreSQL alone does with the gateway's own statement mix, with nothing
-- else on the machine. bench/run.sh runs it beside charge_writes.sql (the
-- writes a charge needs), so the two ratios say how much of the distance
-- is the statements themselves and how much the gateway, the simulator and
-- the load tool (HTTP, Go, GORM) around them. Values are the bench's: one
-- merchant (mer_bench) and payment method (pm_bench), 200 numbers, ₩100
-- charges, the carrier cap, a receipt, no cashback program (so no cashback
-- read: the gateway knows the merchant never had one). Not replayed: river's fetch of the
-- receipt (batched, about 0.05 ms a job); its completion is one row here,
-- in a batch of about 90 in the gateway.
--   pgbench -n -c 32 -j 2 -T 20 -f bench/charge_statements.sql postgres://…
-- (-M prepared, as the gateway's driver does, runs it too.)
\set r random(1, 9000000000000000000)
\set n random(1, 200)
-- The request: the idempotency claim, a retry's charge, the payment method, the per-number limit.
INSERT INTO idempotency_keys (merchant_id, key, request_hash, state, response_status, response_type, response_body, created_at, locked_until)
  VALUES ('mer_bench', 'k' || :client_id || '_' || :r, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes');
SELECT * FROM charges WHERE merchant_id = 'mer_bench' AND idempotency_key = 'k' || :client_id || '_' || :r LIMIT 1;
SELECT * FROM payment_methods WHERE id = 'pm_bench' AND merchant_id = 'mer_bench' LIMIT 1;
INSERT INTO rate_limits (key, value, expires_at) VALUES ('charges_per_number:' || repeat(md5(:n::text), 2), 1, 1)
  ON CONFLICT (key) DO UPDATE SET value = rate_limits.value + 1, expires_at = rate_limits.expires_at + 1
  WHERE rate_limits.value >= 0;
-- The intent.
BEGIN;
SELECT pg_advisory_xact_lock(1919511403, :n);
SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS sum FROM charges
  WHERE msisdn_index = repeat(md5(:n::text), 2) AND currency = 'KRW' AND created_at >= now() - interval '10 minutes'
    AND status IN ('requires_confirmation', 'processing', 'succeeded', 'partially_refunded', 'refunded')
    AND created_at >= COALESCE((SELECT cleared_at FROM risk_clearances WHERE msisdn_index = repeat(md5(:n::text), 2)), now() - interval '10 minutes');
SELECT currency, amount, NULL AS blocked FROM subscriber_caps WHERE msisdn_index = repeat(md5(:n::text), 2)
  UNION ALL SELECT '', 0, blocked_categories FROM subscriber_preferences WHERE msisdn_index = repeat(md5(:n::text), 2);
INSERT INTO spend_months (msisdn_index, currency, month, scope, reserved, spent)
  VALUES (repeat(md5(:n::text), 2), 'KRW', to_char(now(), 'YYYY-MM'), 'total', 100, 0),
         (repeat(md5(:n::text), 2), 'KRW', to_char(now(), 'YYYY-MM'), 'merchant' || ':' || 'mer_bench', 100, 0)
  ON CONFLICT (msisdn_index, currency, month, scope) DO UPDATE SET reserved = spend_months.reserved + excluded.reserved
  WHERE spend_months.reserved + excluded.reserved <= CASE excluded.scope WHEN 'total' THEN 9000000000000 ELSE spend_months.reserved + excluded.reserved END
  RETURNING scope;
INSERT INTO charges (id, merchant_id, idempotency_key, livemode, status, amount, currency, carrier, msisdn_enc, msisdn_index,
    msisdn_masked, payment_method_id, code_attempts, refunded_amount, refund_reserved, sink_token_hash, description,
    merchant_reference, category, metadata, created_at, updated_at, spend_month, cashback_applied, cashback_earned)
  VALUES ('ch_s' || :client_id || '_' || :r, 'mer_bench', 'k' || :client_id || '_' || :r, false, 'processing', 100, 'KRW', 'skt',
    'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n::text), 2),
    '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0);
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  VALUES ('evt_p' || :client_id || '_' || :r, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r,
    '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now());
COMMIT;
-- The carrier answered: the result.
BEGIN;
UPDATE charges SET carrier_reference = 'pay_' || :r, status = 'succeeded', succeeded_at = now(), updated_at = now()
  WHERE id = 'ch_s' || :client_id || '_' || :r AND status = 'processing' RETURNING *;
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  VALUES ('evt_s' || :client_id || '_' || :r, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r,
    '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now());
INSERT INTO ledger_entries (merchant_id, charge_id, refund_id, account, amount, currency, kind, created_at)
  VALUES ('mer_bench', 'ch_s' || :client_id || '_' || :r, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()),
         ('mer_bench', 'ch_s' || :client_id || '_' || :r, NULL, 'merchant_payable', -100, 'KRW', 'charge', now());
UPDATE spend_months SET spent = spent + 100
  WHERE msisdn_index = repeat(md5(:n::text), 2) AND currency = 'KRW' AND month = to_char(now(), 'YYYY-MM') AND scope = 'total'
  RETURNING reserved, spent, (SELECT c.amount FROM subscriber_caps c WHERE c.msisdn_index = spend_months.msisdn_index AND c.currency = spend_months.currency) AS own_cap;
INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, state, tags)
  VALUES (jsonb_build_object('charge_id', 'ch_s' || :client_id::text || '_' || :r::text, 'what', 'receipt' || ':' || 'ch_s' || :client_id::text || '_' || :r::text,
      'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r::text),
    'subscriber_text', 25, '{}', 1, 'default', 'available', '{}')
  RETURNING id \gset job_
COMMIT;
-- The answer kept for the key; the receipt's job read the charge and completed.
UPDATE idempotency_keys SET response_body = '\x7b7d', response_status = 201, response_type = 'application/json', state = 'done'
  WHERE merchant_id = 'mer_bench' AND key = 'k' || :client_id || '_' || :r;
SELECT * FROM charges WHERE id = 'ch_s' || :client_id || '_' || :r LIMIT 1;
UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = 1, attempted_at = now() WHERE id = :job_id;
