-- Complaints opened in [$2, $3), visible at $4; later steps masked at $4.
SELECT shop_id, opened_at,
       CASE WHEN accepted_at <= $4 THEN accepted_at END             AS accepted_at,
       CASE WHEN resolved_at <= $4 THEN resolved_at END             AS resolved_at,
       CASE WHEN resolved_at <= $4 THEN outcome END                 AS outcome,
       CASE WHEN resolved_at <= $4 THEN ruled_against END           AS ruled_against,
       CASE WHEN first_followup_at <= $4 THEN first_followup_at END AS first_followup_at,
       complaint_id
FROM complaints
WHERE shop_id = ANY($1) AND opened_at >= $2 AND opened_at < $3 AND opened_at <= $4
