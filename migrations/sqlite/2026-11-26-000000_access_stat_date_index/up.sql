-- MM2 indexes access_stat.date (reports read statistics by day); IF NOT EXISTS because an
-- adopted MM2 database already has it.
CREATE INDEX IF NOT EXISTS ix_access_stat_date ON access_stat (date);
