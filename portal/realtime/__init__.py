"""Live updates over Socket.IO: authenticated connections, rooms, fan-out, presence.

See `live.py`. `init_app` binds the shared `socketio` extension to the app, with
Redis as its message queue when `PORTAL_REDIS_URL` is set.
"""

from .live import init_app, workspace_room

__all__ = ["init_app", "workspace_room"]
