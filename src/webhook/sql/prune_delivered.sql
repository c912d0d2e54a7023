-- Delivered messages older than $1 go, their attempts with them.
DELETE FROM webhook_messages WHERE status = 'delivered' AND delivered_at < $1
