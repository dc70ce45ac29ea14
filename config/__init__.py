"""Settings for every room, read once from the environment.

This is the leftmost room: it imports nothing from the project, and every other room may import it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_HOME = Path("~/.whichmodel")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(kw_only=True, frozen=True)
class Settings:
    """Where whichmodel keeps its data and how it reaches the Hub.

    Every field has a default and an environment variable; `Settings.from_env()` fills them.
    """

    home: Path = field(
        default=DEFAULT_HOME,
        metadata={"env": "WHICHMODEL_HOME", "help": "Data directory: SQLite file, Chroma folder, caches."},
    )
    database_url: str | None = field(
        default=None,
        metadata={
            "env": "WHICHMODEL_DATABASE_URL",
            "help": "Any SQLAlchemy URL (e.g. postgresql+psycopg://...); default: SQLite file in home.",
        },
    )
    chroma_host: str | None = field(
        default=None,
        metadata={
            "env": "WHICHMODEL_CHROMA_HOST",
            "help": "Chroma server host:port; default: embedded folder.",
        },
    )
    hf_endpoint: str | None = field(
        default=None,
        metadata={"env": "HF_ENDPOINT", "help": "Hub endpoint, for mirrors and the tests' fake Hub."},
    )
    hf_token: str | None = field(
        default=None, metadata={"env": "HF_TOKEN", "help": "Hub token, for gated or private models."}
    )
    hub_timeout_s: float = field(
        default=10.0, metadata={"env": "WHICHMODEL_HUB_TIMEOUT", "help": "Seconds per Hub request."}
    )
    hub_max_retries: int = field(
        default=4, metadata={"env": "WHICHMODEL_HUB_RETRIES", "help": "Retries on 429 and 5xx answers."}
    )
    batch_size: int = field(
        default=1000, metadata={"env": "WHICHMODEL_BATCH_SIZE", "help": "Records per ingest transaction."}
    )
    scan_max_mb: int = field(
        default=500,
        metadata={
            "env": "WHICHMODEL_SCAN_MAX_MB",
            "help": "Largest pickle-based file (MB) downloaded for a security scan; larger ones are not scanned.",
        },
    )
    scan_keep_downloads: bool = field(
        default=False,
        metadata={
            "env": "WHICHMODEL_SCAN_KEEP",
            "help": "Keep files downloaded for a security scan in the cache (default: removed after the scan).",
        },
    )
    workers: int = field(
        default=0,
        metadata={"env": "WHICHMODEL_WORKERS", "help": "Scoring worker processes; 0: one per available core."},
    )
    embedding_precision: str = field(
        default="int8",
        metadata={
            "env": "WHICHMODEL_EMBEDDING_PRECISION",
            "help": "Card embeddings for a new card index: int8 (quantized, faster) or fp32 (exact MiniLM).",
        },
    )
    llm_api_key: str | None = field(
        default=None, metadata={"env": "OPENAI_API_KEY", "help": "Key of an OpenAI-compatible endpoint."}
    )
    llm_base_url: str | None = field(
        default=None,
        metadata={"env": "OPENAI_BASE_URL", "help": "OpenAI-compatible server (vLLM, Ollama, llama.cpp ...)."},
    )
    llm_model: str = field(
        default="gpt-4o-mini", metadata={"env": "WHICHMODEL_LLM_MODEL", "help": "Chat model name at the endpoint."}
    )
    llm_timeout_s: float = field(
        default=60.0, metadata={"env": "WHICHMODEL_LLM_TIMEOUT", "help": "Seconds per LLM request."}
    )
    hub_fetch: bool = field(
        default=True,
        metadata={"env": "WHICHMODEL_HUB_FETCH", "help": "Whether questions may fetch unknown models from the Hub "
                  "and store them (false: read-only, offline answers from the database)."},
    )  # fmt: skip
    ui_auth_file: str | None = field(
        default=None,
        metadata={"env": "WHICHMODEL_UI_AUTH", "help": "File of `user:password` lines; the UI asks for a login."},
    )
    ui_max_upload: str = field(
        default="10mb", metadata={"env": "WHICHMODEL_UI_MAX_UPLOAD", "help": "Largest upload the UI accepts."}
    )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from the environment; keyword overrides win."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = _env(f.metadata["env"])
            if f.name == "hf_token" and raw is None:
                raw = _env("HUGGING_FACE_HUB_TOKEN")
            if raw is None:
                continue
            if f.type in ("Path", Path):
                values[f.name] = Path(raw)
            elif f.type in ("float",):
                values[f.name] = float(raw)
            elif f.type in ("int",):
                values[f.name] = int(raw)
            elif f.type in ("bool",):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        object.__setattr__(settings, "home", Path(settings.home).expanduser())
        return settings

    @property
    def sqlite_path(self) -> Path:
        """The default SQLite file inside the data directory."""
        return self.home / "whichmodel.db"

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one, else the SQLite file in home."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def scan_cache_path(self) -> Path:
        """Where files downloaded for a security scan are written (and kept, with `scan_keep_downloads`)."""
        return self.home / "cache" / "scan"

    @property
    def chroma_path(self) -> Path:
        """The embedded Chroma folder inside the data directory."""
        return self.home / "chroma"
