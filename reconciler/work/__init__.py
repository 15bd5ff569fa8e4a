"""The work queue: its message schema (`message`), the storage client for what the output
binding cannot do (`storage`), and the worker that runs one message (`worker`).

Imports nothing itself: the webhook imports `reconciler.work.message` on every cold start.
"""
