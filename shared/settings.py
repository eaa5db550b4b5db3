"""Settings, read once by the composition root (pydantic-settings, prefix GONGKAI_).

Embedded mode is the default: SQLite files under `var_dir`, the embedded bus.
GONGKAI_DATABASE_URL switches the stores to PostgreSQL; GONGKAI_KAFKA_BOOTSTRAP
switches the bus to Kafka.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
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
