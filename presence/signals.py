"""What presence tells the rest of Parley: users came online (their first socket anywhere
opened) or went offline (their last socket anywhere closed, or its worker died).

Sent after the change committed, from the thread that wrote it. Receivers: the call rules
(calls/apps.py) and the presence pushes to rooms (consumers/presence.py).
"""

from django.dispatch import Signal

# kwargs: online: list[int], offline: list[int] (user ids; either may be empty)
presence_changed = Signal()
