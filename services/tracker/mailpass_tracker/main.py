from __future__ import annotations

import uvicorn

from mailpass_common.platform import telemetry
from mailpass_common.platform.http_listener import listener_config
from mailpass_common.platform.settings import load_settings
from mailpass_tracker.app import create_app
from mailpass_tracker.settings import TrackerSettings


def main() -> None:
    settings = load_settings(TrackerSettings, "mailpass-tracker")
    telemetry.setup("mailpass-tracker", settings.log_level)
    config = listener_config(
        create_app(settings),
        settings,
        host=settings.tracker_host,
        port=settings.tracker_port,
        log_config=None,
        # The app reads X-Forwarded-For itself, trusting only TRACKER_TRUSTED_PROXIES
        # (clientip); uvicorn's own handling would trust 127.0.0.1 regardless.
        proxy_headers=False,
    )
    uvicorn.Server(config).run()
