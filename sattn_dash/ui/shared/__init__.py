"""The parts several pages share: session-state keys, page names, sign-in and sessions, the run picker, the current table and spec, cached analysis, shared widgets."""
