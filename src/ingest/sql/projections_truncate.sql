TRUNCATE orders, order_events, orders_to_fold, reviews, refunds, chat_messages,
         conversations, conversations_to_fold, chat_ratings,
         agent_status, complaints, complaint_followups, complaint_verifications,
         integrity_flags, shop_first_events
