"""The software catalog's model: Backstage entities, refs, relations and catalog-info.yaml parsing.

Pure code (no database, no HTTP): `roadbed.storage.catalog` stores what this validates, the API
and CLI speak it.
"""

from roadbed.catalog.model import (
    API_VERSIONS,
    KINDS,
    CatalogValidationError,
    EntityProblem,
    ValidEntity,
    validate_entities,
    validate_entity,
)
from roadbed.catalog.parsing import MAX_BODY_BYTES, MAX_DOCUMENTS, MalformedBody, UnsupportedMediaType, load_entities
from roadbed.catalog.refs import DEFAULT_NAMESPACE, EntityRef, InvalidRef, make_ref, parse_ref
from roadbed.catalog.relations import INVERSE, REF_FIELDS

__all__ = [
    "API_VERSIONS",
    "DEFAULT_NAMESPACE",
    "INVERSE",
    "KINDS",
    "MAX_BODY_BYTES",
    "MAX_DOCUMENTS",
    "REF_FIELDS",
    "CatalogValidationError",
    "EntityProblem",
    "EntityRef",
    "InvalidRef",
    "MalformedBody",
    "UnsupportedMediaType",
    "ValidEntity",
    "load_entities",
    "make_ref",
    "parse_ref",
    "validate_entities",
    "validate_entity",
]
