"""`field__in_array=[...]`: membership in a list passed as one parameter.

A batch of 10,000 ids, uids or titles as an `__in` list costs more to build (one placeholder each) than the
query does to run, and SQLite refuses that many placeholders. As a subquery over the unnested array, the
planner guesses ten rows and, with stale statistics on a table that grows during an import, can turn the
lookup into a nested loop over the whole table. `= ANY(array)` is an index condition whatever the
statistics say. SQLite reads the list from one JSON parameter.
"""

import json
import re
import uuid

from django.db.models import Field, Lookup


@Field.register_lookup
class InArray(Lookup):
    lookup_name = "in_array"
    prepare_rhs = False

    def _values(self, connection) -> list:
        field = self.lhs.output_field
        return [field.get_db_prep_value(v, connection, prepared=False) for v in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(self._values(connection)))

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        base = re.sub(r"\(.*\)", "", self.lhs.output_field.cast_db_type(connection)).strip()
        return f"{lhs} = ANY(%s::{base}[])", (*lhs_params, array_literal(self._values(connection)))


def array_literal(values) -> str:
    """A PostgreSQL array literal (`{1,2,"a \\"b\\""}`) of ints, UUIDs or strings: one text parameter that
    costs a join to build, where the driver's array adapter costs a Python call per element."""
    parts = []
    for v in values:
        if isinstance(v, int | uuid.UUID) and not isinstance(v, bool):
            parts.append(str(v))
        else:
            parts.append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"
