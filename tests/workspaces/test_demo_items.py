"""`portal demo` fills the demonstration working groups with items of every kind."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.meetings.models import AgendaItem, Meeting, MeetingStatus, Outcome
from portal.memos.models import Memo
from portal.tasks.models import Task


def test_demo_groups_hold_memos_tasks_and_meetings_with_agendas(app, ctx):
    result = app.test_cli_runner().invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    assert count(Memo) >= 4
    assert count(Task) >= 7 and count(Task, Task.meeting_id.is_not(None)) == 1
    assert count(Meeting) >= 4
    assert count(AgendaItem, AgendaItem.scheduled.is_(False)) >= 2
    assert count(Outcome) == 2
    held = db.session.scalar(select(Meeting).where(Meeting.status == MeetingStatus.held))
    assert held is not None and "Acta" in held.minutes
