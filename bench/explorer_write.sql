-- Metadata-write cost of the explorer's indexes: a merge UPDATE (`md || patch`, what a merge-mode
-- import does) of 100,000 items, from a staging table. Run with and without the field indexes:
--   psql ... -f bench/explorer_write.sql
--   manage.py explorer_indexes --workspace bench --drop; psql ... -f bench/explorer_write.sql
--   manage.py explorer_indexes --workspace bench
\timing on
CREATE UNLOGGED TABLE IF NOT EXISTS explorer_bench_stage AS
  SELECT id, jsonb_build_object('reviewed', (id % 2 = 0), 'score', id % 100) AS patch FROM items_item;
VACUUM items_item;
UPDATE items_item i SET client_metadata = i.client_metadata || s.patch
  FROM explorer_bench_stage s WHERE s.id = i.id AND i.id <= (SELECT min(id) + 99999 FROM items_item);
