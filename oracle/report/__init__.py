"""Reports: records as tables (CSV, Markdown), the document's example table, the picture, and the report run."""
