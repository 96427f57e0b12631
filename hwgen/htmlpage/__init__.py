"""HTML pages of projects and evaluations (``hwgen report``, ``hwgen eval --html``)."""
from .page import PAGE_FILE, check_page_output, eval_page, open_project, project_page

__all__ = ["PAGE_FILE", "check_page_output", "eval_page", "open_project", "project_page"]
