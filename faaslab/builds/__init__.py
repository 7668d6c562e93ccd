"""Builds as `sam build` makes them: dependencies installed beside the code, layers at /opt.

`plan.py` decides what each function and layer needs (no I/O beyond looking at files);
`builder.py` copies, unpacks, runs pip/npm/make, caches and merges layers.
"""
