"""Settings every service reads from the environment (prefix ``OSLONAC_``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # The sign-in page posts an OAuth2 password grant here: the development issuer's /auth/token in the
    # embedded run, Keycloak's .../protocol/openid-connect/token (direct access grants) in compose.
    auth_token_url: str | None = None
    auth_client_id: str = "oslonac"

    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: str = "INFO"

    # Cases: active cases per worker above which a worker is flagged as over the norm.
    caseload_norm: int = Field(default=50, ge=1)
    # Activation: how often the stored shortlists are checked for staleness and recomputed (0: never by itself).
    shortlist_refresh_s: float = Field(default=30.0, ge=0)
    # Reporting: how often the cells changed since the last round are announced on the feed (SSE and Kafka).
    feed_interval_s: float = Field(default=1.0, gt=0)

    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 1.0
    consumer_max_attempts: int = 4
    consumer_backoff_base_s: float = 0.05
    consumer_batch_size: int = 500

    @model_validator(mode="after")
    def _production_needs_real_parts(self) -> Settings:
        if self.env is Environment.production:
            if not (self.jwks_url or self.jwt_public_key or self.jwt_public_key_file):
                raise ValueError("production needs OSLONAC_JWKS_URL or a JWT public key")
            if self.resolved_database_url().startswith("sqlite"):
                raise ValueError("production needs OSLONAC_DATABASE_URL pointing at PostgreSQL")
        return self

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').resolve()}"
