"""What every tab of the web app shares: plugins, limits, jobs, the download allow-list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from apps.downloads import DownloadAllowList
from apps.jobs import SessionJobs
from apps.live import LiveReenactor
from apps.uploads import UploadLimits
from toolkit.paths import subdir
from toolkit.plugins import PluginHost, get_host


@dataclass
class WebContext:
    host: PluginHost = field(default_factory=get_host)
    limits: UploadLimits = field(default_factory=UploadLimits)
    downloads: DownloadAllowList = field(default_factory=DownloadAllowList)
    jobs: SessionJobs = field(default_factory=SessionJobs)
    live: LiveReenactor = field(default_factory=LiveReenactor)

    @property
    def outputs_dir(self) -> Path:
        """Where web jobs write (generated media, reports); never served directly."""
        return subdir("web")
