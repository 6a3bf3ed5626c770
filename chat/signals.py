"""Signals other apps listen to (assessment scores saved answers)."""

from django.dispatch import Signal

# Sent by `services.save_answer` after an answer is saved: `answer` (the QuestionAnswer), `question` (its segment).
answer_saved = Signal()
