"""The benchmarks behind BENCHMARKS.md, outside the product package: ``python -m bench <command>``.

Commands: ``encode``, ``cache``, ``interactive``, ``search``, ``memory``,
``resnet``, ``plot`` and ``all`` (see ``python -m bench --help``). Each prints
Markdown tables (copied as they are into BENCHMARKS.md); ``--json`` prints one
JSON object instead, and ``--out DIR`` also writes ``DIR/<name>.json`` and PNG
plots. Only public facecore names are used, so the engine can change inside
without breaking these.

Modules, one job each: ``report`` (tables, timing helpers), ``machine`` (CPU,
load, memory, CPU seconds of processes), ``photos`` (samples of the shared
photos), ``synthetic`` (faces drawn around the real ones), ``encode`` and
``stages`` (encoding throughput against the article's loop, time per stage),
``resnet_speed`` (the face ResNet alone), ``cache``, ``interactive``,
``search``, ``memory``, ``plots``, and ``cli`` (the command line).
``people.py`` and ``verdict.py`` beside them are scripts of their own
(``python bench/people.py ...``).
"""
