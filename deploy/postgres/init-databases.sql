-- One database per service (the services never read each other's data), plus one for Keycloak.
--
-- The official postgres image runs this file once, as POSTGRES_USER, and only when the data
-- volume is empty (first `docker compose up`). To re-run it: `docker compose down -v`.
-- The tables are created by each service's Alembic migrations at start-up
-- (OSLONAC_MIGRATE_ON_START=true), not here.

CREATE DATABASE intake;
CREATE DATABASE cases;
CREATE DATABASE activation;
CREATE DATABASE reporting;
CREATE DATABASE keycloak;

-- Only the owner (POSTGRES_USER) may connect; nothing is granted to PUBLIC.
REVOKE ALL ON DATABASE intake FROM PUBLIC;
REVOKE ALL ON DATABASE cases FROM PUBLIC;
REVOKE ALL ON DATABASE activation FROM PUBLIC;
REVOKE ALL ON DATABASE reporting FROM PUBLIC;
REVOKE ALL ON DATABASE keycloak FROM PUBLIC;
