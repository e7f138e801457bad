import pytest

from reference.directory import default_directory
from dialogs.nlu import NLU


@pytest.fixture(scope="session")
def nlu() -> NLU:
    return NLU(default_directory())
