"""Built-in tasks: datasets generated here, so every install has one to run the loop on.

`arith` generates seeded arithmetic word problems (`undo-tui import --builtin arith`); `demo`
holds the demo's dataset: which arith problems `undo-tui demo` imports, and importing them once.
"""
