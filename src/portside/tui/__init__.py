"""The Textual app of `portside watch` (`app`), its modal screens (`dialogs`) and its table's rows (`rows`, pure).

Textual is imported by `app` and `dialogs` only, and they only on the TUI path of `portside watch`.
"""
