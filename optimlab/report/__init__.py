"""optimlab.report: the pages and tables of the lab, written from records.

viz draws, report writes: every function here takes records that exist (traces, a
sweep's result, a training comparison, a benchmark's store), never runs an optimizer,
and writes self-contained HTML (figures embedded) beside the records it shows, so a
page can be rebuilt from disk alone.

* pages (:mod:`optimlab.report.pages`, :mod:`optimlab.report.bench`):
  :func:`run_page`, :func:`sweep_page`, :func:`training_page`, :func:`bench_page`;
  each returns a :class:`Page` (its path, the files written, its main table);
* tables (:mod:`optimlab.report.tables`): one :class:`Table` type, its builders, and
  its writers (HTML through :func:`write_html`, :func:`to_rich`, :func:`to_markdown`,
  :func:`write_csv`); cells through :func:`format_number`;
* blocks of a page (:mod:`optimlab.report.html`): :class:`Heading`, :class:`Text`,
  :class:`Figure`, :class:`Table`, and :func:`write_html`.
"""

from .bench import bench_page, build_report
from .html import Figure, Heading, Text, render_html, write_html
from .pages import Page, run_page, sweep_page, training_html, training_page
from .tables import (
                     Table,
                     bench_cost_table,
                     bench_summary_table,
                     format_mean_std,
                     format_number,
                     function_list_table,
                     optimizer_list_table,
                     problem_list_table,
                     schedule_list_table,
                     suite_list_table,
                     sweep_table,
                     to_markdown,
                     to_rich,
                     trace_table,
                     training_table,
                     trials_table,
                     write_csv,
)

__all__ = ["Heading", "Text", "Table", "Figure", "write_html", "render_html", "format_number", "format_mean_std",
           "Page", "run_page", "sweep_page", "training_page", "training_html", "bench_page", "build_report",
           "to_rich", "to_markdown", "write_csv", "trace_table", "sweep_table", "training_table",
           "bench_summary_table", "bench_cost_table", "trials_table", "function_list_table",
           "optimizer_list_table", "problem_list_table", "suite_list_table", "schedule_list_table"]
