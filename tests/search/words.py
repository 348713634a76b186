"""Accented words of port and trade texts in the network's four languages, for checking
that a word typed without its accents finds what it finds with them.

Each language's words come with the function words that make a text read as that
language (language detection), and the English ones are the accented names and
loanwords that English texts about the region carry.
"""

from __future__ import annotations

_WORDS = {
    "es": """
        facilitación tramitación recomendación logística información exportación importación
        certificación inspección fiscalización navegación régimen tránsito almacén vehículo
        depósito código electrónico única declaración operación administración legislación
        regulación armonización digitalización automatización modernización cooperación
        integración coordinación verificación valoración clasificación liberación mercancías
        tráfico marítimo política económico jurídico técnico público trámite gestión comisión
        reunión país análisis inversión dársena grúa práctico capitanía concesión licitación
        auditoría distribución tecnología energía señalización
    """,
    "pt": """
        logística exportação importação alfândega navegação certificação inspeção trânsito
        declaração facilitação tramitação operação informação regulamentação fiscalização
        harmonização integração cooperação coordenação verificação classificação liberação
        digitalização automação modernização armazém veículo depósito código eletrônico única
        portuária marítimo comércio econômico técnico público política trâmite gestão comissão
        reunião país relatório orçamento licitação manutenção segurança proteção contêiner
        caminhão atracação pátio prático concessão frigorífico resíduos poluição conexão
        emissões indústria responsável disponível agência eficiência importância vigilância
    """,
    "fr": """
        dédouanement sécurité procédure déclaration réglementation sûreté entrepôt opérateur
        marché échange électronique numérique données accès véhicule dépôt régime contrôle
        vérification énergie électricité réparation système intégration coopération fiscalité
        société activité capacité productivité traçabilité interopérabilité qualité autorité
        comité communauté réunion priorité stratégie élaboration évaluation prévision
        réservation créneau chaîne tempête jetée bouée marée réfrigéré déchets déversement
        émissions frontière matière première côtier douanière règlement délai aéroport
        conformité délivrance
    """,
    "en": """
        Panamá Perú México São Mazatlán Lázaro Cárdenas Itajaí Paranaguá Montréal Québec café
        résumé naïve façade rôle régime entrepôt déjà Colón Limón Moín Valparaíso Bogotá
        Medellín Asunción Querétaro Mérida Belém Pará Maceió Vitória Ceará Curaçao Cancún
        Yucatán Petén Tomás Cortés Concepción détente fiancé cliché protégé décor début élite
        soirée crème naïveté jalapeño señor Chañaral
    """,
}

WORDS = {language: text.split() for language, text in _WORDS.items()}

# Words that make a text read as its language (see portal.search.schema.detect_language).
FUNCTION_WORDS = {
    "es": "de la los las del que con para una por",
    "pt": "de da do das dos que com para uma não",
    "fr": "de la les des du que avec pour une dans",
    "en": "the of and to in for with this that from",
}
