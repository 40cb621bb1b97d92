"""Events other apps may subscribe to (the webhooks app, #15, will deliver `reminder.fired` from this).

`reminder_fired` is sent after the firing commits, once per fired reminder, with `reminder` (the Reminder as
it fired, `fired_at` set) and `notification` (the Notification made for it). Receivers run in the worker
that fired it; one that fails is logged and does not stop the others (`send_robust`).
"""

from django.dispatch import Signal

reminder_fired = Signal()
