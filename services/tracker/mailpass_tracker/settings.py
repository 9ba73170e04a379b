from __future__ import annotations

from mailpass_common.settings import CommonSettings


class TrackerSettings(CommonSettings):
    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8001
