"""Signals other apps may listen to: `roleplay_finished` is sent (on commit) when a learner finishes an attempt.

Receivers get `attempt` (a `RoleplayAttempt`, finished). Assessment listens here; nothing in this app does.
"""

from django.dispatch import Signal

roleplay_finished = Signal()
