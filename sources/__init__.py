"""Extract readers: one module per source, turning the files an analyst holds into tidy frames.

Each reader validates its input against a YAML schema in ``sources/schemas/`` (one file
per source), returns the rows it could read plus a frame of rejected rows (with file,
line, field, rule and message), and raises ``sources.errors.SourceFileError`` when a
whole file cannot be read. ``sources.synthetic`` generates a fictional partnership in
the same real-world formats.
"""
