"""`portal demo`: a demonstration network, created through the services.

Everything it creates is marked `is_demo` (communities, users, workspaces) and
every demo user signs in with `DEMO_PASSWORD` (printed in README).
"""

from __future__ import annotations

from sqlalchemy import exists, select

from .accounts import service as accounts
from .accounts.models import User
from .extensions import db
from .network import service as network
from .network.models import Community, MemberState
from .workspaces import service as workspaces
from .workspaces.models import Role

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
    return {
        "member states": len(MEMBER_STATES),
        "communities": len(COMMUNITIES),
        "working groups": len(WORKSPACES),
        "users": len(USERS),
    }
