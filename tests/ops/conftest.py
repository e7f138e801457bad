from tests.webchat.conftest import migrated_sqlite_file, sqlite_url  # noqa: F401 - shared fixtures
