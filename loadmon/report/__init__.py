"""Reports: the weekly load charts of a runner or a squad, as one self-contained HTML file.

`loadmon.report.charts` draws (matplotlib), `loadmon.report.html` lays the charts
out with the squad overview; the CLI (`loadmon report`) reads the store and
writes the files.
"""
