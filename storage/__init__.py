"""Persistence plumbing shared by every package that owns tables: the declarative
base, column types, the engine/session factory, and the UTC clock. Imports none of ours."""

from storage.base import Base
from storage.clock import Clock, utc_now
from storage.engine import engine_of, make_engine, make_sessionmaker
from storage.types import UtcDateTime

__all__ = ["Base", "Clock", "UtcDateTime", "engine_of", "make_engine", "make_sessionmaker", "utc_now"]
