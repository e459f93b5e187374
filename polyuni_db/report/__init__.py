"""The study report: queries over the views, matplotlib figures, Jinja templates, one HTML file."""
from polyuni_db.report.build import render_report

__all__ = ["render_report"]
