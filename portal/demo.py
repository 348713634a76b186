"""`portal demo`: a demonstration network, created through the services.

Everything it creates is marked `is_demo` (communities, users, workspaces) and
every demo user signs in with `DEMO_PASSWORD` (printed in README).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

from . import demo_files
from .accounts import service as accounts
from .accounts.models import User
from .extensions import db
from .meetings.models import AttendanceResponse, Meeting, MeetingStatus, OutcomeKind
from .memos.models import Memo
from .network import service as network
from .network.models import Community, MemberState
from .tasks.models import TaskPriority, TaskStatus
from .workspaces import service as workspaces
from .workspaces.models import Role, SharePermission, Workspace

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - published demonstration credential

MEMBER_STATES = [
    ("AR", "Argentina"),
    ("BR", "Brazil"),
    ("CL", "Chile"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("EC", "Ecuador"),
    ("GT", "Guatemala"),
    ("HN", "Honduras"),
    ("JM", "Jamaica"),
    ("MX", "Mexico"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("UY", "Uruguay"),
]

# (name, port, member state)
COMMUNITIES = [
    ("Comunidad Portuaria de Buenos Aires", "Buenos Aires", "AR"),
    ("Comunidad Logística Portuaria de Rosario", "Rosario", "AR"),
    ("Comunidade Portuária de Santos", "Santos", "BR"),
    ("Comunidade Portuária de Paranaguá", "Paranaguá", "BR"),
    ("Comunidad Logística de Valparaíso", "Valparaíso", "CL"),
    ("Comunidad Logística Portuaria de San Antonio", "San Antonio", "CL"),
    ("Comunidad Portuaria de Cartagena", "Cartagena", "CO"),
    ("Comunidad Portuaria de Buenaventura", "Buenaventura", "CO"),
    ("Comunidad Portuaria de Barranquilla", "Barranquilla", "CO"),
    ("Comunidad Portuaria de Santa Marta", "Santa Marta", "CO"),
    ("Comunidad Portuaria de Limón-Moín", "Limón", "CR"),
    ("Comunidad Portuaria de Caldera", "Caldera", "CR"),
    ("Comunidad Portuaria de Guayaquil", "Guayaquil", "EC"),
    ("Comunidad Portuaria de Manta", "Manta", "EC"),
    ("Comunidad Portuaria de Puerto Quetzal", "Puerto Quetzal", "GT"),
    ("Comunidad Portuaria de Santo Tomás de Castilla", "Santo Tomás de Castilla", "GT"),
    ("Comunidad Portuaria de Puerto Cortés", "Puerto Cortés", "HN"),
    ("Kingston Port Community", "Kingston", "JM"),
    ("Comunidad Portuaria de Manzanillo", "Manzanillo", "MX"),
    ("Comunidad Portuaria de Veracruz", "Veracruz", "MX"),
    ("Comunidad Portuaria de Lázaro Cárdenas", "Lázaro Cárdenas", "MX"),
    ("Comunidad Portuaria de Altamira", "Altamira", "MX"),
    ("Comunidad Logística del Pacífico de Panamá", "Balboa", "PA"),
    ("Comunidad Logística del Atlántico de Panamá", "Colón", "PA"),
    ("Comunidad Portuaria del Callao", "Callao", "PE"),
    ("Comunidad Portuaria de Paita", "Paita", "PE"),
    ("Comunidad Logística Portuaria de Montevideo", "Montevideo", "UY"),
]

WORKSPACES = [
    (
        "Sistemas de Comunidad Portuaria",
        "Port Community Systems: interoperability, single windows and data exchange.",
    ),
    (
        "Facilitación del Comercio",
        "Simplifying border procedures and documentation between member states.",
    ),
    ("Sostenibilidad y Descarbonización", "Green ports, shore power and emissions reporting."),
]

# (email, name, community port or None, secretariat, {workspace index: role})
USERS = [
    ("secretariat@portnet.example", "Lucía Fernández", None, True, {}),
    (
        "coordinator@portnet.example",
        "Andrés Morales",
        "Cartagena",
        False,
        {0: Role.coordinator, 1: Role.member},
    ),
    (
        "member@portnet.example",
        "Camila Rojas",
        "Valparaíso",
        False,
        {0: Role.member, 2: Role.member},
    ),
    ("observer@portnet.example", "João Pereira", "Santos", False, {0: Role.observer}),
    ("trade@portnet.example", "María José Castillo", "Manzanillo", False, {1: Role.coordinator}),
    (
        "green@portnet.example",
        "Kevin Campbell",
        "Kingston",
        False,
        {2: Role.coordinator, 1: Role.observer},
    ),
    ("callao@portnet.example", "Rosa Quispe", "Callao", False, {1: Role.member, 2: Role.member}),
]

# The focal points of their communities and what they show the members: (position, phone).
FOCAL_POINTS = {
    "coordinator@portnet.example": ("Port community systems lead", "+57 605 660 1200"),
    "trade@portnet.example": ("Trade facilitation officer", "+52 314 331 0400"),
    "green@portnet.example": ("Environmental manager", "+1 876 922 0290"),
}
# The community that names its focal points in the public directory, and its address.
PUBLISHING_PORT = ("Cartagena", "contacto@cartagena.portnet.example")


def load_demo_contacts(secretariat: User, people: dict[str, User],
                       by_port: dict[str, Community]) -> None:  # fmt: skip
    """Focal points with their details shown to members, one community publishing them."""
    for email, (position, phone) in FOCAL_POINTS.items():
        person = people[email]
        accounts.update_user(secretariat, person, {"is_focal_point": True})
        accounts.update_user(person, person, {"position": position, "phone": phone,
                                              "show_email": True, "show_phone": True,
                                              "show_position": True})  # fmt: skip
    port, address = PUBLISHING_PORT
    network.update_community(
        secretariat, by_port[port], {"publish_focal_points": True, "contact_email": address}
    )


def load_demo() -> dict[str, int] | None:
    """Create the demonstration network; None if it is already there."""
    if db.session.scalar(select(exists().where(Community.is_demo.is_(True)))):
        return None
    for code, name in MEMBER_STATES:
        if db.session.get(MemberState, code) is None:
            network.create_member_state(None, code, name)
    by_port: dict[str, Community] = {}
    for name, port, state in COMMUNITIES:
        by_port[port] = network.create_community(
            None,
            name=name,
            port=port,
            member_state=state,
            description=f"Demonstration data: the port logistics community of {port}.",
            is_demo=True,
        )
    groups = [
        workspaces.create_workspace(None, name=name, description=description, is_demo=True)
        for name, description in WORKSPACES
    ]
    secretariat: User | None = None
    for email, name, port, is_secretariat, roles in USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.create_user(
                secretariat,
                email=email,
                name=name,
                community_id=by_port[port].id if port else None,
                password=DEMO_PASSWORD,
                is_secretariat=is_secretariat,
                is_demo=True,
            )
        if is_secretariat:
            secretariat = user
        for index, role in roles.items():
            workspaces.set_membership(secretariat, groups[index], user, role)  # type: ignore[arg-type]
    people = {
        email: db.session.scalar(select(User).where(User.email == email)) for email, *_ in USERS
    }
    load_demo_contacts(secretariat, people, by_port)  # type: ignore[arg-type]
    items = load_demo_items(groups, people)
    return {
        "member states": len(MEMBER_STATES),
        "communities": len(COMMUNITIES),
        "working groups": len(WORKSPACES),
        "users": len(USERS),
        "items": items,
    }


# --- the working groups' memos, tasks and meetings ------------------------------

# (group index, author email, title, body)
MEMOS = [
    (
        0,
        "coordinator@portnet.example",
        "Hoja de ruta de interoperabilidad PCS 2027",
        "## Objetivo\n\nConectar los *Port Community Systems* de Cartagena, Valparaíso y "
        "Santos mediante mensajes **UN/EDIFACT** y APIs REST.\n\n"
        "1. Inventario de mensajes (BAPLIE, COPARN, IFTMIN)\n"
        "2. Piloto de intercambio de avisos de arribo\n"
        "3. Gobernanza de datos compartida",
    ),
    (
        0,
        "observer@portnet.example",
        "Notas sobre a Janela Única de Santos",
        "A **Janela Única Portuária** reduziu o tempo de liberação em 30 %. "
        "Recomendamos estudar o modelo de integração com a Receita Federal.",
    ),
    (
        1,
        "trade@portnet.example",
        "Resumen del Acuerdo sobre Facilitación del Comercio (OMC)",
        "Artículos clave para las comunidades portuarias: **7.1** (tramitación previa a la "
        "llegada), **10.4** (ventanilla única) y **10.9** (admisión temporal).",
    ),
    (
        2,
        "green@portnet.example",
        "Shore power: lessons from Kingston",
        "Kingston commissioned **onshore power supply** for two berths. Key lessons:\n\n"
        "- grid capacity studies take longer than the works;\n"
        "- tariffs must make OPS cheaper than auxiliary engines.",
    ),
]

# (group index, author, title, description, status, priority, due in days, assignees)
TASKS = [
    (0, "coordinator@portnet.example", "Inventariar los mensajes EDIFACT en uso",
     "Listar versiones y socios por puerto.", TaskStatus.doing, TaskPriority.high, 14,
     ["member@portnet.example"]),
    (0, "member@portnet.example", "Redactar el acuerdo de intercambio de datos",
     "Borrador para revisión jurídica.", TaskStatus.todo, TaskPriority.normal, 30,
     ["member@portnet.example", "coordinator@portnet.example"]),
    (0, "coordinator@portnet.example", "Publicar el glosario de términos PCS", "",
     TaskStatus.done, TaskPriority.low, -7, ["coordinator@portnet.example"]),
    (1, "trade@portnet.example", "Mapear los tiempos de despacho en Manzanillo y Callao",
     "Medición de tiempos según la metodología TRS de la OMA.", TaskStatus.todo,
     TaskPriority.urgent, -3, ["callao@portnet.example"]),
    (1, "callao@portnet.example", "Levantar requisitos de la ventanilla única del Callao", "",
     TaskStatus.doing, TaskPriority.normal, 21, ["callao@portnet.example"]),
    (2, "green@portnet.example", "Collect emissions baselines per port",
     "Scope 1 and 2, 2025 data.", TaskStatus.todo, TaskPriority.high, 45,
     ["member@portnet.example", "callao@portnet.example"]),
]  # fmt: skip

# (group index, organiser, title, days ahead, local hour, minutes, timezone, location,
#  online link, guidelines, agenda [(title, minutes, presenter)], backlog [titles])
MEETINGS = [
    (0, "coordinator@portnet.example", "Reunión mensual del grupo PCS", 9, 10, 90,
     "America/Bogota", "Sociedad Portuaria de Cartagena, sala 3", "https://meet.example/pcs",
     "- Lea los documentos **antes** de la reunión.\n- 5 minutos por intervención.\n"
     "- Las decisiones se toman por consenso.",
     [("Estado del inventario EDIFACT", 20, "member@portnet.example"),
      ("Piloto de avisos de arribo", 30, "coordinator@portnet.example"),
      ("Varios", 10, None)],
     ["Estudio de costos de la plataforma común"]),
    (1, "trade@portnet.example", "Taller de ventanillas únicas", 16, 9, 120,
     "America/Lima", "", "https://meet.example/vuce",
     "Sessão em espanhol e português, com tradução simultânea.",
     [("Experiencia del Callao", 40, "callao@portnet.example"),
      ("Experiência de Santos (Janela Única)", 40, None)],
     []),
    (2, "green@portnet.example", "Decarbonisation working session", 23, 15, 60,
     "America/Jamaica", "", "https://meet.example/green", "Camera on, please.",
     [("Shore power roadmap", 30, "green@portnet.example"),
      ("Emissions reporting template", 20, "member@portnet.example")],
     ["Green corridors with European ports"]),
]  # fmt: skip


# (group index, uploader, file name, title, language, tags, how to make its bytes):
# a file of each kind the portal reads, made in code (`demo_files`).
DOCUMENTS = [
    (0, "coordinator@portnet.example", "Agenda_reunion_mensual.pdf",
     "Agenda de la reunión mensual del grupo PCS", "es", ["agenda", "reunión"],
     lambda: demo_files.pdf("Agenda de la reunión mensual del grupo PCS\n"
                            "1. Estado del inventario EDIFACT (20 min)\n"
                            "2. Piloto de avisos de arribo (30 min)\n3. Varios (10 min)")),
    (0, "member@portnet.example", "Inventario_EDIFACT.xlsx",
     "Inventario de mensajes EDIFACT por puerto", "es", ["EDIFACT", "inventario"],
     lambda: demo_files.xlsx([["Puerto", "Mensaje", "Versión"], ["Cartagena", "BAPLIE", "D.95B"],
                              ["Valparaíso", "COPARN", "D.00B"], ["Santos", "IFTMIN", "D.99B"]])),
    (0, "member@portnet.example", "Acuerdo_intercambio_datos.docx",
     "Borrador del acuerdo de intercambio de datos", "es", ["acuerdo", "datos"],
     lambda: demo_files.docx("Acuerdo de intercambio de datos entre comunidades portuarias\n"
                             "Cláusula 1. Objeto: el intercambio de avisos de arribo.\n"
                             "Cláusula 2. Cada parte custodia sus datos.")),
    (1, "callao@portnet.example", "Acta_taller_ventanillas.odt",
     "Acta del taller de ventanillas únicas", "es", ["ventanilla única"],
     lambda: demo_files.odt("Acta del taller de ventanillas únicas\n"
                            "Participaron el Callao y Manzanillo.\n"
                            "Se acordó medir los tiempos de despacho con la metodología TRS.")),
    (2, "green@portnet.example", "Shore_power_tariffs.pdf",
     "Shore power tariffs compared", "en", ["shore power", "tariffs"],
     lambda: demo_files.pdf("Shore power tariffs compared\nKingston: 0.18 USD/kWh\n"
                            "Auxiliary engines: 0.27 USD/kWh equivalent")),
]  # fmt: skip


def load_demo_documents(groups: list[Workspace], people: dict[str, User]) -> int:
    """The demonstration's documents, uploaded through the documents service; the data
    agreement is checked out by its author, as while she edits it offline."""
    from .documents import service as documents
    from .documents.storage import current_store
    from .documents.upload import received_bytes

    store = current_store()
    for index, uploader, filename, title, language, tags, make in DOCUMENTS:
        document = documents.create_document(
            people[uploader],
            groups[index],
            received_bytes(store, make(), filename),
            title=title,
            language=language,
            tags=tags,
        )
        if filename.endswith(".docx"):
            documents.check_out(people[uploader], document, 72)
    return len(DOCUMENTS)


def load_demo_items(groups: list[Workspace], people: dict[str, User]) -> int:
    """Memos, tasks and meetings of the demonstration groups, through the services."""
    from .meetings import service as meetings_service
    from .memos import service as memos_service
    from .tasks import service as tasks_service
    from .workspaces import items_service

    count = 0
    for index, author, title, body in MEMOS:
        memos_service.create_memo(people[author], groups[index], title=title, body=body)
        count += 1
    today = datetime.now(UTC).date()
    for index, author, title, description, status, priority, due, assignees in TASKS:
        tasks_service.create_task(
            people[author],
            groups[index],
            title=title,
            description=description,
            status=status,
            priority=priority,
            due_date=today + timedelta(days=due),
            assignees=[people[a] for a in assignees],
        )
        count += 1
    for (index, organiser, title, days, hour, minutes, zone, location, link, guidelines,
         agenda, backlog) in MEETINGS:  # fmt: skip
        starts = datetime.combine(today + timedelta(days=days), time(hour), ZoneInfo(zone))
        meeting = meetings_service.create_meeting(
            people[organiser],
            groups[index],
            title=title,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
            timezone=zone,
            location=location,
            online_url=link,
            guidelines=guidelines,
        )
        for point, duration, presenter in agenda:
            meetings_service.add_agenda_item(
                people[organiser],
                meeting,
                title=point,
                duration_minutes=duration,
                presenter_id=people[presenter].id if presenter else None,
            )
        for point in backlog:
            meetings_service.add_agenda_item(
                people[organiser], meeting, title=point, scheduled=False
            )
        count += 1
    # A meeting already held, with minutes and outcomes, in the PCS group.
    coordinator = people["coordinator@portnet.example"]
    member = people["member@portnet.example"]
    starts = datetime.combine(today - timedelta(days=20), time(10), ZoneInfo("America/Santiago"))
    held = meetings_service.create_meeting(
        coordinator,
        groups[0],
        title="Reunión de arranque del grupo PCS",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        timezone="America/Santiago",
        location="Puerto de Valparaíso",
    )
    point = meetings_service.add_agenda_item(
        coordinator, held, title="Alcance del grupo", duration_minutes=30
    )
    meetings_service.set_attendance(member, held, AttendanceResponse.yes)
    meetings_service.update_meeting(coordinator, held, {"status": MeetingStatus.in_progress})
    meetings_service.add_outcome(
        coordinator, held, point, kind=OutcomeKind.decision,
        text="El grupo trabajará primero en los avisos de arribo.",
    )  # fmt: skip
    meetings_service.add_outcome(
        coordinator,
        held,
        point,
        kind=OutcomeKind.task,
        text="Preparar la propuesta de piloto.",
        task={"title": "Propuesta de piloto de avisos de arribo", "due_date": None},
        assignees=[member],
    )
    meetings_service.update_meeting(
        coordinator,
        held,
        {
            "status": MeetingStatus.held,
            "minutes": "## Acta\n\n1. Se acordó el alcance del grupo.\n"
            "2. Camila Rojas preparará la propuesta de piloto.",
        },
    )
    # The trade group shares its WTO summary with the PCS group.
    trade_memo = db.session.scalar(
        select(Memo).where(
            Memo.title.like("Resumen del Acuerdo%"), Memo.workspace_id == groups[1].id
        )
    )
    if trade_memo is not None:
        items_service.share(
            people["trade@portnet.example"], trade_memo, groups[0], SharePermission.view
        )
    publish_demo_items(groups, people, held)
    return count + 1 + load_demo_documents(groups, people)


# (title of a memo, its group's coordinator) the secretariat has published, and one
# still awaiting review, so the public pages and the secretariat's queue show something.
PUBLISHED = [
    ("Resumen del Acuerdo sobre Facilitación del Comercio (OMC)", "trade@portnet.example"),
    ("Shore power: lessons from Kingston", "green@portnet.example"),
]
AWAITING_REVIEW = ("Hoja de ruta de interoperabilidad PCS 2027", "coordinator@portnet.example")


def publish_demo_items(groups: list[Workspace], people: dict[str, User], held: Meeting) -> None:
    from .public import service as publishing

    secretariat = people["secretariat@portnet.example"]
    memos = {
        memo.title: memo
        for memo in db.session.scalars(
            select(Memo).where(Memo.workspace_id.in_([g.id for g in groups]))
        )
    }
    coordinator = people["coordinator@portnet.example"]
    publishing.submit(coordinator, held, "Acta de la reunión de arranque.")
    publishing.approve(secretariat, held)
    for title, submitter in PUBLISHED:
        publishing.submit(people[submitter], memos[title], "")
        publishing.approve(secretariat, memos[title])
    title, submitter = AWAITING_REVIEW
    publishing.submit(people[submitter], memos[title], "Para el boletín de la red.")
