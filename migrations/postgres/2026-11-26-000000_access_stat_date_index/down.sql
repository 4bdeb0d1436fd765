DROP INDEX IF EXISTS ix_access_stat_date;
