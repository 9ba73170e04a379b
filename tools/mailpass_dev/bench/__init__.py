"""``make bench``: the real stack measured against Postfix's smtp-sink and smtp-source.

``python -m mailpass_dev.bench --help`` lists the options; the module docstrings of
``runner`` (the phases), ``report`` (the targets) and ``sink`` (how messages are counted)
say what is measured and how.
"""
