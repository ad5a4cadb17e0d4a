"""Settings every service reads from the environment (prefix ``OSLONAC_``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_CSRF_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class KafkaSettings(BaseSettings):
    """Client settings; the ones that differ between the embedded broker and Apache Kafka live here."""

    model_config = SettingsConfigDict(env_prefix="OSLONAC_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    # Tansu (the embedded broker) fails idempotent producers at start(); Apache Kafka wants them on.
    enable_idempotence: bool = False
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    # How long a fetch may wait for records: ``fetch_max_wait_ms`` while records flow, doubling up to
    # ``fetch_max_wait_idle_ms`` while fetches come back empty (shared/messaging/kafka.py FetchPacer). Tansu
    # answers a waiting fetch only when the wait is over (every consumer fetching every 10 ms cost an idle platform
    # 2/3 of a core; at 1 s its broker still used 2.5 %); Apache Kafka answers as soon as ``fetch_min_bytes``
    # arrived, so there a long idle wait costs no latency at all. On Tansu the first record after a quiet spell
    # waits up to the idle wait at each hop.
    fetch_max_wait_ms: int = 10
    fetch_max_wait_idle_ms: int = 3000
    fetch_min_bytes: int = 1
    linger_ms: int = 2
    max_batch_size: int = 512 * 1024
    compression_type: Literal["gzip", "lz4", "snappy", "zstd"] | None = None
    request_timeout_ms: int = 15_000
    client_id_prefix: str = "oslonac"
    # A prefix for every topic and group name: tests sharing one broker each get their own.
    topic_prefix: str = ""
    # Replication of the topics `oslonac topics` creates: 1 for one broker, 3 on a production cluster.
    replication_factor: int = 1


class Settings(BaseSettings):
    """One service's settings. ``service`` names the service this process runs."""

    model_config = SettingsConfigDict(env_prefix="OSLONAC_", extra="ignore")

    env: Environment = Environment.development
    service: str = "intake"
    data_dir: Path = Path("var")
    database_url: str | None = None
    migrate_on_start: bool = True
    # API-only replicas can switch the background work off.
    run_relay: bool = True
    run_consumer: bool = True

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    # Authentication: a PEM public key (file or inline) or a JWKS URL.
    jwt_public_key_file: Path | None = None
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str = "oslonac-dev"
    jwt_audience: str | None = None
    # Pages sign in by OpenID Connect (authorization code + PKCE) against this issuer: its public URL, also the
    # expected ``iss`` of tokens. Back-channel calls (discovery, token, JWKS) go to ``oidc_internal_url`` instead
    # of the issuer prefix when set (compose: browsers use localhost:8000, services reach keycloak:8080).
    oidc_issuer: str | None = None
    oidc_internal_url: str | None = None
    oidc_client_id: str = "oslonac-web"
    oidc_client_secret: str | None = None  # a confidential client authenticates with client_secret_basic
    # The origin browsers use (redirect URIs); else derived from the request (X-Forwarded-Proto/Host).
    public_url: str | None = None
    # A page session idle longer than this ends; none lives longer than the max age, refreshes or not.
    session_idle_timeout_s: int = Field(default=1800, ge=1)
    session_max_age_s: int = Field(default=10 * 3600, ge=1)

    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"

    # Cases: active cases per worker above which a worker is flagged as over the norm.
    caseload_norm: int = Field(default=50, ge=1)
    # Activation: how often the stored shortlists are checked for staleness and recomputed (0: never by itself).
    shortlist_refresh_s: float = Field(default=30.0, ge=0)
    # Reporting: how often the cells changed since the last round are announced on the feed (SSE and Kafka).
    feed_interval_s: float = Field(default=1.0, gt=0)

    # The key that signs the pages' CSRF tokens (shared.ui.csrf); every replica of a service needs the same one.
    # Outside production a key generated into the data directory stands in for it; production refuses to start
    # without one (below).
    csrf_secret: SecretStr | None = None
    # How long an Idempotency-Key is remembered (its answer replayed); expired keys are deleted lazily.
    idempotency_ttl_s: float = Field(default=24 * 3600.0, gt=0)

    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 1.0
    consumer_max_attempts: int = 4
    consumer_backoff_base_s: float = 0.05
    consumer_batch_size: int = 500

    @model_validator(mode="after")
    def _production_needs_real_parts(self) -> Settings:
        if self.env is Environment.production:
            if not (self.jwks_url or self.jwt_public_key or self.jwt_public_key_file or self.oidc_issuer):
                raise ValueError("production needs OSLONAC_OIDC_ISSUER, OSLONAC_JWKS_URL or a JWT public key")
            if self.resolved_database_url().startswith("sqlite"):
                raise ValueError("production needs OSLONAC_DATABASE_URL pointing at PostgreSQL")
        return self

    @property
    def expected_issuer(self) -> str:
        """The ``iss`` tokens must carry: the OIDC issuer when pages sign in by OIDC, else ``jwt_issuer``."""
        return self.oidc_issuer or self.jwt_issuer

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').resolve()}"

    @model_validator(mode="after")
    def _production_needs_a_csrf_key(self) -> Settings:
        """Beside the checks above: a generated key would differ between replicas and hosts."""
        if self.env is Environment.production and (
            self.csrf_secret is None or len(self.csrf_secret.get_secret_value()) < MIN_CSRF_SECRET_LENGTH
        ):
            raise ValueError(
                f"production needs OSLONAC_CSRF_SECRET: a random string of at least {MIN_CSRF_SECRET_LENGTH} "
                "characters (for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), "
                "the same for every replica of a service"
            )
        return self
