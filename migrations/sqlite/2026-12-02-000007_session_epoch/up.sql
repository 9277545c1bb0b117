-- Every token names the session epoch of its user; logging out, a new password or deactivation
-- moves the epoch on, and every token issued before stops working on every instance.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
