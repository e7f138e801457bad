"""The one typed settings object. Read from environment variables (and ``.env``);
nothing else in the code base reads ``os.environ``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # -- storage ----------------------------------------------------------------------
    database_url: str = "sqlite+aiosqlite:///./isp_support.db"
    redis_url: str | None = None  # unset: in-process state (one process only)
    redis_prefix: str = "isp:"  # every key and channel; lets several installs share one Redis

    # -- HTTP ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 64 * 1024  # larger request bodies get 413
    # Signs web chat session tokens. Unset: a random key is made once and kept in
    # ``secret_key_file`` so sessions survive restarts.
    secret_key: SecretStr | None = None
    secret_key_file: Path = Path(".isp_support_secret")

    # -- reference data -----------------------------------------------------------------
    reference_dir: Path | None = None  # unset: the bundled reference/*.toml

    # -- verification -------------------------------------------------------------------
    # argon2 cost for new password hashes: "standard" (64 MiB, 3 passes), "bulk" (OWASP
    # minimum, for big imports), "insecure-fast" (tests only: never in production).
    password_hash_profile: Literal["standard", "bulk", "insecure-fast"] = "standard"
    verify_max_attempts: int = 5  # wrong guesses per account ...
    verify_window_minutes: int = 15  # ... within this window lock it
    verify_max_attempts_per_conversation: int = 10
    sms_code_ttl_minutes: int = 10
    session_idle_minutes: int = 30  # a verified conversation forgets the account after this

    # -- trust payment policy ---------------------------------------------------------------
    trust_days: int = 3
    trust_fee: Decimal = Decimal("0")
    trust_amount_multiplier: Decimal = Decimal("1")

    # -- callbacks and handoff ------------------------------------------------------------
    callback_minutes_per_request: int = 7  # average agent time per callback
    callback_agents_per_queue: int = 2  # agents working one (city, department) queue
    callback_max_attempts: int = 3  # "no answer" retries before giving up
    callback_retry_minutes: int = 30
    handoff_after_misunderstandings: int = 2

    # -- agent console (dispatcher/console) ---------------------------------------------------
    console_session_idle_minutes: int = 120  # a console session unused this long logs out
    console_cookie_secure: bool = False  # Secure cookie even over plain HTTP (behind a TLS proxy)
    console_login_max_failures: int = 5  # failed logins per login before a lock ...
    console_login_lock_minutes: int = 15  # ... of this long (429 with Retry-After)
    console_presence_timeout_seconds: int = 90  # an "online" console not heard from this long is offline
    console_hold_timeout_minutes: int = 10  # a held conversation without agent activity returns to the queue
    console_overdue_minutes: int = 15  # queue items waiting (callbacks: due) longer are highlighted
    console_auto_assign: bool = False  # new conversations go round-robin to online agents
    console_agent_capacity: int = 3  # conversations one agent holds at most under auto-assignment
    console_sweep_seconds: float = 5.0  # how often hold timeouts and auto-assignment run (0: never)

    # -- Telegram ---------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_url: str | None = None  # public URL for `isp-support telegram set-webhook`

    # -- Twilio (SMS; WhatsApp later) ---------------------------------------------------------
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sms_from: str | None = None
    twilio_api_base: str | None = None  # unset: Twilio's public API

    # -- Rasa action server (`isp-support actions`) -------------------------------------------
    # Shared secret Rasa sends as ``?token=`` (endpoints.yml: action_endpoint.token).
    # Unset: no check — keep the action server on localhost then.
    rasa_action_token: SecretStr | None = None

    # -- logging ------------------------------------------------------------------------------
    log_level: str = "INFO"

    demo: bool = Field(default=False, description="load the demo subscribers into an empty database")
