"""The one typed settings object. Read from environment variables (and ``.env``);
nothing else in the code base reads ``os.environ``."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def export_for_child_processes(name: str, value: str) -> None:
    """Put a setting in the environment that forked workers (and the libraries they
    import, such as prometheus-client) read at start. The one place that writes it."""
    os.environ[name] = value


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
    workers: int = 1  # `serve` processes; more than one needs REDIS_URL (shared state)
    # Set by `serve --workers N` for its workers (prometheus-client's multi-process mode);
    # set it yourself only when you run the ASGI app under your own process manager.
    prometheus_multiproc_dir: Path | None = None
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per log line
    metrics_queue_refresh_seconds: float = 15.0  # queue gauges of /metrics read from the database this often
    # Signs web chat session tokens. Unset: a random key is made once and kept in
    # ``secret_key_file`` so sessions survive restarts.
    secret_key: SecretStr | None = None
    secret_key_file: Path = Path(".isp_support_secret")

    # -- durability (issue 10) ------------------------------------------------------------
    # Web chat tokens: refused after this long without a call (each call renews the
    # token), and this long after the session began whatever happens.
    webchat_token_ttl_idle_minutes: int = Field(default=24 * 60, ge=1)
    webchat_token_ttl_absolute_hours: int = Field(default=30 * 24, ge=1)
    # A turn's transcript lines are committed before its reply is returned (they
    # survive a crash); false: written off the reply path, up to ~50 ms lost on a crash.
    transcript_durable: bool = True
    # An inbox update taken by a worker that died (SIGKILL) is taken again after this
    # long; longer than any turn takes (a live worker's update is never taken twice).
    inbox_lease_seconds: float = Field(default=60.0, gt=0)

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

    # -- voluntary block policy («добровольная блокировка») -----------------------------------
    voluntary_block_min_days: int = 7
    voluntary_block_max_days: int = 90
    voluntary_block_max_days_ahead: int = 30  # how far ahead the first day may be
    voluntary_block_fee_per_day: Decimal = Decimal("0")  # the monthly fee is not charged meanwhile

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

    # -- Viber ------------------------------------------------------------------------------
    viber_auth_token: SecretStr | None = None  # set: the Viber channel is on
    viber_api_base: str = "https://chatapi.viber.com/pa"
    viber_sender_name: str = Field(default="Зелёная точка", max_length=28)  # Viber's limit
    viber_sender_avatar: str | None = None  # URL of a JPEG up to 100 KB
    viber_webhook_url: str | None = None  # public URL for `isp-support viber set-webhook`
    # Chatbot-initiated messages outside the subscriber's 24-hour session are billed by
    # Viber: send them (agents are told), or refuse them with the reason.
    viber_allow_paid_messages: bool = False
    viber_unanswered_limit: int = 100  # messages an hour to a subscriber who has not replied
    viber_retry_attempts: int = 3  # tries of one call while Viber answers status 12
    viber_retry_wait_seconds: float = 1.0  # times the attempt number

    # -- Twilio (SMS; WhatsApp later) ---------------------------------------------------------
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sms_from: str | None = None
    twilio_api_base: str | None = None  # unset: Twilio's public API

    # -- WhatsApp through Twilio (same account as above) --------------------------------------
    # On when the account SID, the auth token and this sender are set.
    twilio_whatsapp_from: str | None = None  # the WhatsApp sender, "+14155238886" (sandbox) or yours
    # The public https address Twilio posts to (signatures cover the URL Twilio used,
    # so behind a proxy the host the app sees is not it): "https://support.example.ru".
    public_base_url: str | None = None
    # Content templates (Content API, HX… SIDs). Quick replies with 1, 2, 3 buttons:
    # body {{1}}, button i titled {{2i}} with id {{2i+1}}. Unset: a numbered menu.
    twilio_content_sid_quick_reply_1: str | None = None
    twilio_content_sid_quick_reply_2: str | None = None
    twilio_content_sid_quick_reply_3: str | None = None
    twilio_content_sid_list_picker: str | None = None  # twilio/list-picker by item count: "4=HX…,10=HX…" (README)
    # An approved template for messages after the 24-hour window closed (agents' messages):
    # the text goes into the variable named below. Unset: such messages fail, the agent is told.
    twilio_content_sid_window: str | None = None
    twilio_window_template_variable: str = "1"

    # -- Rasa action server (`isp-support actions`) -------------------------------------------
    # Shared secret Rasa sends as ``?token=`` (endpoints.yml: action_endpoint.token).
    # Unset: no check — keep the action server on localhost then.
    rasa_action_token: SecretStr | None = None

    # -- logging ------------------------------------------------------------------------------
    log_level: str = "INFO"

    demo: bool = Field(default=False, description="load the demo subscribers into an empty database")
