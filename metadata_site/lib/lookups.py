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

    def get_db_prep_lookup(self, value, connection):
        field = self.lhs.output_field
        return ("%s", [[field.get_db_prep_value(v, connection, prepared=False) for v in value]])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, (values,) = self.get_db_prep_lookup(self.rhs, connection)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(values))

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, (values,) = self.get_db_prep_lookup(self.rhs, connection)
        base = re.sub(r"\(.*\)", "", self.lhs.output_field.cast_db_type(connection)).strip()
        return f"{lhs} = ANY(%s::{base}[])", (*lhs_params, array_literal(values))


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
