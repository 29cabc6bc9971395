"""Plugins tab: what is installed, what failed, and the tabs plugins contribute."""

from __future__ import annotations

import logging

import gradio as gr

from apps.context import WebContext
from apps.tabs.common import markdown_table
from toolkit.plugins import PluginFailure

log = logging.getLogger("dftk.web")

HEADERS = ["plugin", "source", "version", "hooks", "registers"]


def plugin_rows(ctx: WebContext) -> list[list[str]]:
    contributions = ctx.host.contributions()
    rows = []
    for name, info in sorted(ctx.host.info.items()):
        registers = "; ".join(f"{k}: {', '.join(v)}" for k, v in contributions.get(name, {}).items())
        rows.append([name, info.source, info.version or "-", ", ".join(info.hooks), registers])
    return rows


def build(ctx: WebContext) -> None:
    gr.Markdown("Installed plugins (entry-point group `dftk`, `--plugins-dir`) and what each registers.")
    rows = plugin_rows(ctx)
    gr.Markdown(markdown_table(HEADERS, rows) if rows else "No plugins are loaded (`DFTK_LOAD_PLUGINS` may be "
                "empty).", elem_id="plugins-table")
    web_tabs = ctx.host.web_tabs()
    if web_tabs:
        gr.Markdown("### Plugin tabs")
        with gr.Tabs():
            for plugin_name, tab in web_tabs:
                title = str(getattr(tab, "title", plugin_name))
                with gr.Tab(title, elem_id=f"plugin-tab-{plugin_name}"):
                    description = getattr(tab, "description", "")
                    if description:
                        gr.Markdown(description)
                    try:
                        tab.build()
                    except Exception as exc:  # a broken plugin tab must not take the app down
                        log.exception("plugin %s: web tab %r failed to build", plugin_name, title)
                        ctx.host.failures.append(
                            PluginFailure(plugin_name, "register_web_tabs", f"{type(exc).__name__}: {exc}")
                        )
                        gr.Markdown(f"This tab failed to build: `{type(exc).__name__}: {exc}`")
    failures = ctx.host.failures
    if failures:
        gr.Markdown("### Failed plugins\n" + "\n".join(
            f"- **{f.plugin}** ({f.stage}): `{f.error}`" for f in failures))
