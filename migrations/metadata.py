"""All table modules, imported so ``Base.metadata`` knows every table."""

import billing.models  # noqa: F401
import bots.durable_models  # noqa: F401
import bots.sms.models  # noqa: F401
import dispatcher.models  # noqa: F401
import dispatcher.ratings  # noqa: F401
from storage import Base

target_metadata = Base.metadata
