-- Messages waiting to be delivered (the queue depth).
SELECT count(*) FROM webhook_messages WHERE status = 'pending'
