"""How the API writes dates (see ``mailpass_common.messages.models.api_datetime``): the spec's
endpoints keep the spec's ``YYYY-MM-DDTHH:MM:SS`` (``mail.status.spec_datetime``); every
other answer writes RFC 3339 in UTC with ``Z``, to the millisecond. Response models
declare their dates as :data:`ApiDateTime`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer

from mailpass_common.platform.dates import api_datetime

ApiDateTime = Annotated[datetime, PlainSerializer(api_datetime, return_type=str)]
