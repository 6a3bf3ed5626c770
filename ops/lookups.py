"""`uuidfield__any_of=ids`: a UUID column that is one of many ids, sent as one parameter.

`__in` with a list sends one parameter per id, which Django resolves and prepares and psycopg quotes one by one
in Python: for the course overview of the real vault's largest course (271 steps, listed twice: under their own
UUIDs and under the UUIDs they replace) that was most of the page's CPU. On PostgreSQL this lookup sends the ids
as one `uuid[]` literal (`= ANY(...)`); other databases get `IN (...)`. `UUIDs` holds ids with their literal
made once, for collections that are kept (content_loader.kept) and sent again and again.
"""

from collections.abc import Iterable, Iterator
from functools import cached_property
from uuid import UUID

from django.db.models import Lookup, UUIDField


class UUIDs:
    """An immutable collection of UUIDs that `__any_of` sends as its one literal, made once."""

    def __init__(self, ids: Iterable[UUID]) -> None:
        self.ids = frozenset(ids)

    def __iter__(self) -> Iterator[UUID]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def literal(self) -> str:
        return "{" + ",".join(sorted(map(str, self.ids))) + "}"


def uuid_array(ids: Iterable[UUID]) -> str:
    """PostgreSQL's text for a uuid[] of `ids`."""
    return ids.literal if isinstance(ids, UUIDs) else "{" + ",".join(map(str, ids)) + "}"


@UUIDField.register_lookup
class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids: Iterable = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(CAST(%s AS uuid[]))", [*lhs_params, uuid_array(ids)]
        values = [self.lhs.output_field.get_db_prep_value(value, connection) for value in ids]
        if not values:
            return "1 = 0", []
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
