-- The Optuna studies get a database of their own beside MLflow's (docker-compose.yml mounts this into
-- PostgreSQL's /docker-entrypoint-initdb.d, run once when the data volume is new).
CREATE DATABASE optuna;
