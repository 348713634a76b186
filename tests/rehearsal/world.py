"""A working network for the load run, seeded fast into a rehearsal's database.

`members` accounts share one Argon2 hash (hashing each would take minutes), one
working group per `MEMBERS_PER_GROUP` of them; each group gets memos, tasks,
meetings and small documents through the portal's own services, so the rows,
revisions, events, blobs and index entries are those the portal makes.

    python -m tests.rehearsal.world MEMBERS PASSWORD   (with a host's PORTAL_* settings)

prints one JSON object: the members (email, id, group) and each group's items.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, time, timedelta
from typing import Any

MEMBERS_PER_GROUP = 15
MEMOS, TASKS, MEETINGS, DOCUMENTS, AGENDA_POINTS = 4, 6, 1, 2, 2
TOPICS = [
    "port call optimisation",
    "single window",
    "EDIFACT messages",
    "shore power",
    "customs clearance",
    "berth planning",
    "hinterland rail",
    "cold chain",
    "vessel arrival notices",
    "emissions reporting",
    "cyber security",
    "dredging",
]


def email(number: int) -> str:
    return f"member{number:05d}@load.example"


def seed(members: int, password: str) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from portal.accounts import service as accounts
    from portal.accounts.models import User
    from portal.documents import service as documents
    from portal.documents.storage import current_store
    from portal.documents.upload import received_bytes
    from portal.extensions import db
    from portal.meetings import service as meetings
    from portal.memos import service as memos
    from portal.tasks import service as tasks
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Membership, Role

    first = accounts.create_user(None, email=email(0), name="Member 0", password=password)
    now = datetime.now(UTC)
    db.session.execute(
        insert(User),
        [
            {
                "email": email(n),
                "name": f"Member {n}",
                "password_hash": first.password_hash,
                "active": True,
                "session_epoch": 0,
                "locale": "en",
                "timezone": "UTC",
                "is_secretariat": False,
                "is_demo": False,
                "created_at": now,
            }
            for n in range(1, members)
        ],
    )
    db.session.commit()
    users = db.session.scalars(
        select(User).where(User.email.like("%@load.example")).order_by(User.email)
    ).all()
    # Member n is in group n // MEMBERS_PER_GROUP: the first N members fill N / 15 groups.
    group_count = max(1, -(-members // MEMBERS_PER_GROUP))
    groups = [
        workspaces.create_workspace(
            None,
            name=f"Working group {g + 1}: {TOPICS[g % len(TOPICS)]}",
            description=f"Load rehearsal group on {TOPICS[g % len(TOPICS)]}.",
        )
        for g in range(group_count)
    ]
    db.session.execute(
        insert(Membership),
        [
            {
                "workspace_id": groups[n // MEMBERS_PER_GROUP].id,
                "user_id": user.id,
                "role": Role.coordinator if n % MEMBERS_PER_GROUP == 0 else Role.member,
                "created_at": now,
            }
            for n, user in enumerate(users)
        ],
    )
    db.session.commit()
    store = current_store()
    today = now.date()
    world: dict[str, Any] = {"members": [], "groups": {}}
    for g, group in enumerate(groups):
        people = users[g * MEMBERS_PER_GROUP : (g + 1) * MEMBERS_PER_GROUP]
        topic = TOPICS[g % len(TOPICS)]
        items: dict[str, list[int]] = {"memo": [], "task": [], "meeting": [], "document": []}
        for m in range(MEMOS):
            body = f"## {topic.title()} note {m + 1}\n\n" + (f"Progress on {topic}. " * 40)
            memo = memos.create_memo(
                people[m % len(people)], group, title=f"{topic.title()}: note {m + 1}", body=body
            )
            items["memo"].append(memo.id)
        for t in range(TASKS):
            task = tasks.create_task(
                people[t % len(people)],
                group,
                title=f"{topic.title()}: step {t + 1}",
                description=f"Work on {topic}.",
                due_date=today + timedelta(days=t * 3 - 5),
                assignees=[people[(t + 1) % len(people)]],
            )
            items["task"].append(task.id)
        for k in range(MEETINGS):
            starts = datetime.combine(today + timedelta(days=7 * k + 2), time(14), UTC)
            meeting = meetings.create_meeting(
                people[0],
                group,
                title=f"{topic.title()} meeting {k + 1}",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                timezone="UTC",
            )
            for point in range(AGENDA_POINTS):
                meetings.add_agenda_item(
                    people[0], meeting, title=f"Point {point + 1}", duration_minutes=15
                )
            items["meeting"].append(meeting.id)
        for d in range(DOCUMENTS):
            text = f"{topic} report {d + 1}\n" + f"Findings on {topic} in the region.\n" * 200
            document = documents.create_document(
                people[d % len(people)],
                group,
                received_bytes(store, text.encode(), f"{topic.replace(' ', '_')}_{d + 1}.txt"),
                title=f"{topic.title()} report {d + 1}",
            )
            items["document"].append(document.id)
        world["groups"][str(group.id)] = items
        world["members"].extend(
            {"email": user.email, "id": user.id, "group": group.id} for user in people
        )
    world["members"].sort(key=lambda member: member["email"])
    return world


def main() -> None:
    from portal import create_app

    members, password = int(sys.argv[1]), sys.argv[2]
    app = create_app()
    with app.app_context():
        print(json.dumps(seed(members, password)))


if __name__ == "__main__":
    main()
