"""The human-readable report: one Rich table, a section per workload, then the set-up.

`--json` bypasses this module; the table shows the same figures, formatted for reading.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


def render(report: dict[str, Any], console: Console) -> None:
    table = Table(title="chat-server benchmark", title_justify="left")
    table.add_column("workload", style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for workload, figures in report.items():
        if workload == "config":
            continue
        for i, (key, value) in enumerate(figures.items()):
            shown = (
                Text(str(value), style="red", justify="left")
                if key in {"error", "first_error"}
                else _format(value)
            )
            table.add_row(workload if i == 0 else "", key, shown)
        table.add_section()
    console.print(table)
    config = report["config"]
    console.print(
        f"{config['nproc']} CPUs, {config['pinning']}; {config['event_loop']}; "
        f"transport: {config['transport']}; database: {config['database']}",
        style="dim",
    )


def _format(value: Any) -> Text:
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Text(str(value))
    if isinstance(value, int) or abs(value) >= 1000:
        return Text(f"{value:,.0f}")
    if abs(value) >= 100:
        return Text(f"{value:.1f}")
    return Text(f"{value:.2f}")
