-- Run by the postgres image once, when it starts on an empty data volume (it executes every
-- *.sql file mounted in /docker-entrypoint-initdb.d as POSTGRES_USER, who then owns these).
-- One database per service: no service ever reads another's tables. The names must match the
-- PRIZE_*_DATABASE_URL values in docker-compose.yml (tests/unit/test_compose_file.py checks it).
CREATE DATABASE intake;
CREATE DATABASE review;
CREATE DATABASE notify;
