-- Conversations whose start t0 (first buyer message) is in [$2, $3) and visible at $4,
-- with the sender of the first response and the time of the first human reply, masked
-- at $4. `conversations` is folded from the messages at the start of every recompute
-- (`ingest/fold_conversations.sql` says why these columns answer every window).
SELECT shop_id, started_at AS t0,
       CASE WHEN first_response_at <= $4 THEN first_sender END AS first_sender,
       CASE WHEN first_human_at <= $4 THEN first_human_at END AS first_human,
       conversation_id
FROM conversations
WHERE shop_id = ANY($1) AND started_at >= $2 AND started_at < $3 AND started_at <= $4
