-- What-if, not run by default (WHATIF=1 bench/run.sh, step 7): every
-- statement of charge_statements.sql for 8 charges of 8 different numbers
-- at once, one statement each (multi-row), request, intent and result
-- alike: the ceiling of a gateway that batched all of a charge's writes.
-- The numbers' advisory locks and month rows are taken in one order (two
-- batches would deadlock otherwise); two charges of one number would go
-- to different batches, so caps and velocity still see them one at a time.
-- Each pgbench transaction is 8 charges: charges/s is its tps x 8.
--   pgbench -n -c 32 -j 2 -T 20 -f bench/charge_statements_batched.sql postgres://…
\set base random(0, 199)
\set r1 random(1, 9000000000000000000)
\set n1 (:base + 0) % 200 + 1
\set r2 random(1, 9000000000000000000)
\set n2 (:base + 25) % 200 + 1
\set r3 random(1, 9000000000000000000)
\set n3 (:base + 50) % 200 + 1
\set r4 random(1, 9000000000000000000)
\set n4 (:base + 75) % 200 + 1
\set r5 random(1, 9000000000000000000)
\set n5 (:base + 100) % 200 + 1
\set r6 random(1, 9000000000000000000)
\set n6 (:base + 125) % 200 + 1
\set r7 random(1, 9000000000000000000)
\set n7 (:base + 150) % 200 + 1
\set r8 random(1, 9000000000000000000)
\set n8 (:base + 175) % 200 + 1
-- The 8 requests: idempotency claims, retries' charges, payment methods, per-number limits.
INSERT INTO idempotency_keys (merchant_id, key, request_hash, state, response_status, response_type, response_body, created_at, locked_until)
  VALUES ('mer_bench', 'k' || :client_id || '_' || :r1, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r2, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r3, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r4, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r5, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r6, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r7, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes'),
    ('mer_bench', 'k' || :client_id || '_' || :r8, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'in_progress', 0, '', NULL, now(), now() + interval '2 minutes');
SELECT * FROM charges WHERE merchant_id = 'mer_bench' AND idempotency_key IN ('k' || :client_id || '_' || :r1, 'k' || :client_id || '_' || :r2, 'k' || :client_id || '_' || :r3, 'k' || :client_id || '_' || :r4, 'k' || :client_id || '_' || :r5, 'k' || :client_id || '_' || :r6, 'k' || :client_id || '_' || :r7, 'k' || :client_id || '_' || :r8);
SELECT * FROM payment_methods WHERE id IN ('pm_bench') AND merchant_id = 'mer_bench';
INSERT INTO rate_limits (key, value, expires_at)
  SELECT k, 1, 1 FROM (VALUES ('charges_per_number:' || repeat(md5(:n1::text), 2)), ('charges_per_number:' || repeat(md5(:n2::text), 2)), ('charges_per_number:' || repeat(md5(:n3::text), 2)), ('charges_per_number:' || repeat(md5(:n4::text), 2)), ('charges_per_number:' || repeat(md5(:n5::text), 2)), ('charges_per_number:' || repeat(md5(:n6::text), 2)), ('charges_per_number:' || repeat(md5(:n7::text), 2)), ('charges_per_number:' || repeat(md5(:n8::text), 2))) v(k) ORDER BY k
  ON CONFLICT (key) DO UPDATE SET value = rate_limits.value + 1, expires_at = rate_limits.expires_at + 1
  WHERE rate_limits.value >= 0;
-- The 8 intents.
BEGIN;
SELECT pg_advisory_xact_lock(1919511403, x) FROM (SELECT x FROM (VALUES (:n1::int), (:n2::int), (:n3::int), (:n4::int), (:n5::int), (:n6::int), (:n7::int), (:n8::int)) v(x) ORDER BY x) s;
SELECT c.msisdn_index, COUNT(*) AS n, COALESCE(SUM(c.amount), 0) AS sum FROM charges c
  WHERE c.msisdn_index IN (repeat(md5(:n1::text), 2), repeat(md5(:n2::text), 2), repeat(md5(:n3::text), 2), repeat(md5(:n4::text), 2), repeat(md5(:n5::text), 2), repeat(md5(:n6::text), 2), repeat(md5(:n7::text), 2), repeat(md5(:n8::text), 2)) AND c.currency = 'KRW' AND c.created_at >= now() - interval '10 minutes'
    AND c.status IN ('requires_confirmation', 'processing', 'succeeded', 'partially_refunded', 'refunded')
    AND c.created_at >= COALESCE((SELECT cleared_at FROM risk_clearances r WHERE r.msisdn_index = c.msisdn_index), now() - interval '10 minutes')
  GROUP BY c.msisdn_index;
SELECT msisdn_index, currency, amount, NULL AS blocked FROM subscriber_caps WHERE msisdn_index IN (repeat(md5(:n1::text), 2), repeat(md5(:n2::text), 2), repeat(md5(:n3::text), 2), repeat(md5(:n4::text), 2), repeat(md5(:n5::text), 2), repeat(md5(:n6::text), 2), repeat(md5(:n7::text), 2), repeat(md5(:n8::text), 2))
  UNION ALL SELECT msisdn_index, '', 0, blocked_categories FROM subscriber_preferences WHERE msisdn_index IN (repeat(md5(:n1::text), 2), repeat(md5(:n2::text), 2), repeat(md5(:n3::text), 2), repeat(md5(:n4::text), 2), repeat(md5(:n5::text), 2), repeat(md5(:n6::text), 2), repeat(md5(:n7::text), 2), repeat(md5(:n8::text), 2));
INSERT INTO spend_months (msisdn_index, currency, month, scope, reserved, spent)
  SELECT idx, 'KRW', to_char(now(), 'YYYY-MM'), scope, 100, 0 FROM (VALUES (repeat(md5(:n1::text), 2)), (repeat(md5(:n2::text), 2)), (repeat(md5(:n3::text), 2)), (repeat(md5(:n4::text), 2)), (repeat(md5(:n5::text), 2)), (repeat(md5(:n6::text), 2)), (repeat(md5(:n7::text), 2)), (repeat(md5(:n8::text), 2))) v(idx),
    (VALUES ('total'), ('merchant' || ':' || 'mer_bench')) s(scope) ORDER BY idx, scope DESC
  ON CONFLICT (msisdn_index, currency, month, scope) DO UPDATE SET reserved = spend_months.reserved + excluded.reserved
  WHERE spend_months.reserved + excluded.reserved <= CASE excluded.scope WHEN 'total' THEN 9000000000000 ELSE spend_months.reserved + excluded.reserved END
  RETURNING msisdn_index, scope;
INSERT INTO charges (id, merchant_id, idempotency_key, livemode, status, amount, currency, carrier, msisdn_enc, msisdn_index,
    msisdn_masked, payment_method_id, code_attempts, refunded_amount, refund_reserved, sink_token_hash, description,
    merchant_reference, category, metadata, created_at, updated_at, spend_month, cashback_applied, cashback_earned)
  VALUES ('ch_s' || :client_id || '_' || :r1, 'mer_bench', 'k' || :client_id || '_' || :r1, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n1::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r1::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r2, 'mer_bench', 'k' || :client_id || '_' || :r2, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n2::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r2::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r3, 'mer_bench', 'k' || :client_id || '_' || :r3, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n3::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r3::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r4, 'mer_bench', 'k' || :client_id || '_' || :r4, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n4::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r4::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r5, 'mer_bench', 'k' || :client_id || '_' || :r5, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n5::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r5::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r6, 'mer_bench', 'k' || :client_id || '_' || :r6, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n6::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r6::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r7, 'mer_bench', 'k' || :client_id || '_' || :r7, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n7::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r7::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0),
    ('ch_s' || :client_id || '_' || :r8, 'mer_bench', 'k' || :client_id || '_' || :r8, false, 'processing', 100, 'KRW', 'skt', 'v1.sealed-number-placeholder-of-the-usual-length-xxxxxxxxxxxxxxxxxxxxxxxx', repeat(md5(:n8::text), 2), '+82 10-****-0001', 'pm_bench', 0, 0, 0, md5(:r8::text), 'bench', '', '', '{}', now(), now(), to_char(now(), 'YYYY-MM'), 0, 0);
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  VALUES ('evt_p' || :client_id || '_' || :r1, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r1, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r2, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r2, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r3, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r3, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r4, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r4, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r5, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r5, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r6, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r6, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r7, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r7, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now()),
    ('evt_p' || :client_id || '_' || :r8, 'mer_bench', false, 'charge.processing', 'ch_s' || :client_id || '_' || :r8, '{"id":"ch_s","object":"charge","status":"processing","amount":100,"currency":"KRW"}', now());
COMMIT;
-- The carriers answered: the 8 results in one transaction.
BEGIN;
UPDATE charges SET carrier_reference = v.ref, status = 'succeeded', succeeded_at = now(), updated_at = now()
  FROM (VALUES ('ch_s' || :client_id || '_' || :r1, 'pay_' || :r1), ('ch_s' || :client_id || '_' || :r2, 'pay_' || :r2), ('ch_s' || :client_id || '_' || :r3, 'pay_' || :r3), ('ch_s' || :client_id || '_' || :r4, 'pay_' || :r4), ('ch_s' || :client_id || '_' || :r5, 'pay_' || :r5), ('ch_s' || :client_id || '_' || :r6, 'pay_' || :r6), ('ch_s' || :client_id || '_' || :r7, 'pay_' || :r7), ('ch_s' || :client_id || '_' || :r8, 'pay_' || :r8)) v(id, ref)
  WHERE charges.id = v.id AND charges.status = 'processing' RETURNING charges.*;
INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
  VALUES ('evt_s' || :client_id || '_' || :r1, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r1, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r2, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r2, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r3, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r3, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r4, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r4, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r5, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r5, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r6, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r6, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r7, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r7, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now()),
    ('evt_s' || :client_id || '_' || :r8, 'mer_bench', false, 'charge.succeeded', 'ch_s' || :client_id || '_' || :r8, '{"id":"ch_s","object":"charge","status":"succeeded","amount":100,"currency":"KRW"}', now());
INSERT INTO ledger_entries (merchant_id, charge_id, refund_id, account, amount, currency, kind, created_at)
  VALUES ('mer_bench', 'ch_s' || :client_id || '_' || :r1, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r1, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r2, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r2, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r3, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r3, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r4, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r4, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r5, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r5, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r6, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r6, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r7, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r7, NULL, 'merchant_payable', -100, 'KRW', 'charge', now()),
    ('mer_bench', 'ch_s' || :client_id || '_' || :r8, NULL, 'carrier_receivable', 100, 'KRW', 'charge', now()), ('mer_bench', 'ch_s' || :client_id || '_' || :r8, NULL, 'merchant_payable', -100, 'KRW', 'charge', now());
SELECT 1 FROM spend_months WHERE msisdn_index IN (SELECT idx FROM (VALUES (repeat(md5(:n1::text), 2), 100), (repeat(md5(:n2::text), 2), 100), (repeat(md5(:n3::text), 2), 100), (repeat(md5(:n4::text), 2), 100), (repeat(md5(:n5::text), 2), 100), (repeat(md5(:n6::text), 2), 100), (repeat(md5(:n7::text), 2), 100), (repeat(md5(:n8::text), 2), 100)) x(idx, a)) AND currency = 'KRW'
  AND month = to_char(now(), 'YYYY-MM') AND scope = 'total' ORDER BY msisdn_index FOR UPDATE;
UPDATE spend_months SET spent = spent + v.amount
  FROM (SELECT idx, SUM(a) AS amount FROM (VALUES (repeat(md5(:n1::text), 2), 100), (repeat(md5(:n2::text), 2), 100), (repeat(md5(:n3::text), 2), 100), (repeat(md5(:n4::text), 2), 100), (repeat(md5(:n5::text), 2), 100), (repeat(md5(:n6::text), 2), 100), (repeat(md5(:n7::text), 2), 100), (repeat(md5(:n8::text), 2), 100)) x(idx, a) GROUP BY idx) v
  WHERE msisdn_index = v.idx AND currency = 'KRW' AND month = to_char(now(), 'YYYY-MM') AND scope = 'total'
  RETURNING reserved, spent, (SELECT c.amount FROM subscriber_caps c WHERE c.msisdn_index = spend_months.msisdn_index AND c.currency = spend_months.currency) AS own_cap;
WITH ins AS (INSERT INTO river_job (args, kind, max_attempts, metadata, priority, queue, state, tags)
  VALUES (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r1, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r1, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r1::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r2, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r2, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r2::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r3, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r3, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r3::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r4, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r4, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r4::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r5, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r5, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r5::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r6, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r6, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r6::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r7, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r7, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r7::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[]),
    (jsonb_build_object('charge_id', 'ch_s' || :client_id || '_' || :r8, 'what', 'receipt:' || 'ch_s' || :client_id || '_' || :r8, 'body', '[tollgate] Bench ₩100 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩' || :r8::text), 'subscriber_text', 25, '{}'::jsonb, 1, 'default', 'available'::river_job_state, '{}'::varchar[])
  RETURNING id) SELECT ids[1] AS job1, ids[2] AS job2, ids[3] AS job3, ids[4] AS job4, ids[5] AS job5, ids[6] AS job6, ids[7] AS job7, ids[8] AS job8 FROM (SELECT array_agg(id) AS ids FROM ins) x \gset
COMMIT;
-- The 8 answers kept for their keys; the receipts' jobs read their charges and completed.
UPDATE idempotency_keys SET response_body = '\x7b7d', response_status = 201, response_type = 'application/json', state = 'done'
  WHERE merchant_id = 'mer_bench' AND key IN (('k' || :client_id || '_' || :r1), ('k' || :client_id || '_' || :r2), ('k' || :client_id || '_' || :r3), ('k' || :client_id || '_' || :r4), ('k' || :client_id || '_' || :r5), ('k' || :client_id || '_' || :r6), ('k' || :client_id || '_' || :r7), ('k' || :client_id || '_' || :r8));
SELECT * FROM charges WHERE id IN ('ch_s' || :client_id || '_' || :r1, 'ch_s' || :client_id || '_' || :r2, 'ch_s' || :client_id || '_' || :r3, 'ch_s' || :client_id || '_' || :r4, 'ch_s' || :client_id || '_' || :r5, 'ch_s' || :client_id || '_' || :r6, 'ch_s' || :client_id || '_' || :r7, 'ch_s' || :client_id || '_' || :r8);
UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = 1, attempted_at = now() WHERE id IN (:job1, :job2, :job3, :job4, :job5, :job6, :job7, :job8);
