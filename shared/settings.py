"""Settings, read once by the composition root (pydantic-settings, prefix GONGKAI_).

Embedded mode is the default: SQLite files under `var_dir`, the embedded bus.
GONGKAI_DATABASE_URL switches the stores to PostgreSQL; GONGKAI_KAFKA_BOOTSTRAP
switches the bus to Kafka.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGKAI_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="embedded state (SQLite files, secret)")
    database_url: str | None = Field(default=None, description="PostgreSQL URL (distributed)")
    kafka_bootstrap: str | None = Field(default=None, description="Kafka bootstrap servers")
    db_pool_max: int = Field(
        default=10, ge=1, le=200, description="PostgreSQL connections per service per process"
    )
    topic_prefix: str = Field(
        default="gongkai", pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Kafka topic prefix"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    token_secret: str | None = Field(default=None, description="HMAC secret for tokens")
    token_ttl_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        description="lifetime of tokens `gongkai token issue` signs (sign-in tokens: 10 min)",
    )
    org_file: Path = REPO_ROOT / "deploy" / "demo" / "district.yaml"
    max_body_bytes: int = 1_048_576
    log_level: str = "info"
    log_format: str = Field(default="json", description="json or console")
    projection_idle_wait: float = 0.5
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="base URL of each service another service calls over HTTP, as JSON "
        '(e.g. {"applications": "http://127.0.0.1:8101"}); distributed mode only: an '
        "embedded suite answers in its own process",
    )
    kafka_session_timeout_ms: int = Field(
        default=30_000,
        ge=6_000,
        le=1_800_000,
        description="Kafka consumer session timeout of projection workers (ms): longer "
        "survives a busy event loop, shorter hands a dead worker's partitions over sooner "
        "(within the broker's group.min/max.session.timeout.ms: 6 s to 30 min by default)",
    )

    kafka_instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,200}$",
        description="Kafka static group membership of this process's projection workers: a "
        "name stable across its restarts and unique among the replicas of its service (a "
        "compose service, a StatefulSet pod, a systemd unit). A worker restarted after a crash "
        "then takes its partitions back at once instead of after the session timeout; a "
        "static member that stops for good keeps its partitions until the session timeout "
        "(it does not leave the group). Unset: dynamic membership (docs/deployment.md)",
    )

    otlp_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry collector to export traces to over OTLP/HTTP (protobuf), "
        "its base URL (e.g. http://otel-collector:4318) or its /v1/traces URL; unset: the "
        "standard OTEL_EXPORTER_OTLP_ENDPOINT, else no tracing (docs/operations.md)",
    )

    column_checks: Literal["on", "off"] = Field(
        default="on",
        description="the daily column check of every township (catalog): on or off; "
        "POST /v1/catalog/column-checks works either way",
    )
    column_checks_hour: int = Field(
        default=8, ge=0, le=23, description="local hour (Asia/Shanghai) after which it runs"
    )
    column_checks_from: date | None = Field(
        default=None,
        description="first day it runs (YYYY-MM-DD): a new deployment's columns start empty, "
        "and when that starts to count is the district's decision",
    )

    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect provider's issuer URL (e.g. a Keycloak realm's "
        "http://127.0.0.1:18080/realms/gongkai); unset = OpenID Connect sign-in is off",
    )
    oidc_client_id: str | None = Field(default=None, description="client id at the provider")
    oidc_client_secret: str | None = Field(
        default=None, description="client secret (confidential client); unset = public client"
    )
    oidc_redirect_uri: str | None = Field(
        default=None,
        description="this suite's callback URL registered at the provider (…/signin/oidc/callback)",
    )
    oidc_account_claim: str = Field(
        default="gongkai_account",
        description="ID token claim naming the gongkai account (else preferred_username)",
    )

    @property
    def oidc_enabled(self) -> bool:
        """OpenID Connect sign-in is on when an issuer is configured (docs/identity.md)."""
        return self.oidc_issuer is not None

    # 订阅推送 (services/subscriptions, docs/subscriptions.md): the mail server notices go
    # through. No host: embedded mode writes them to var/subscriptions/outbox/ as .eml files,
    # distributed mode keeps them queued until a host is configured.
    smtp_host: str | None = Field(default=None, description="SMTP server for notices")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP login, if any")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=False, description="upgrade with STARTTLS (port 587)")
    smtp_tls: bool = Field(default=False, description="implicit TLS (port 465)")
    smtp_timeout: float = Field(default=20.0, gt=0, le=300, description="seconds per send")
    smtp_sender: str = Field(
        default="noreply@gongkai.invalid", description="envelope and From address of notices"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the portal's public address, for the links in notices (no trailing /)",
    )

    @property
    def distributed(self) -> bool:
        return self.database_url is not None

    def resolved_token_secret(self) -> str:
        """The configured secret, else one kept in var/ so printed tokens survive a restart."""
        if self.token_secret:
            return self.token_secret
        path = self.var_dir / "token-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
