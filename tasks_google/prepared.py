"""A model's most frequent statements, as SQL built once per database and reused.

Each attempt of each task reads its row and writes it twice. Built by the ORM, every one of these
statements clones querysets, resolves lookups and compiles SQL again, which costs several times
what the database spends running it. Here the SQL text of a statement is built once per database
alias, from the model's own table and column names quoted by that database's backend; values are
prepared by the model's fields (`get_db_prep_save`) and rows converted by the same converters the
ORM applies, so what is written and read is exactly what the ORM writes and reads.

The statements are plain SQL that every database Django supports runs: `SELECT ... WHERE pk =`,
and `UPDATE ... SET ... WHERE` with equality, `IS NULL`, `IN`, `<` and `OR` conditions.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, transaction

#: A statement's SQL with `{table}` and `{column:<field name>}` placeholders.
Template = str


class Statement:
    """One statement on `model`, its SQL built from `template` once per database alias."""

    def __init__(self, model: type[models.Model], template: Template) -> None:
        self.model = model
        self.template = template
        self._sql: dict[str, str] = {}

    def sql(self, using: str) -> str:
        """The statement's SQL for the database `using`."""
        sql = self._sql.get(using)
        if sql is None:
            quote = connections[using].ops.quote_name
            columns = {f.name: quote(f.column) for f in self.model._meta.concrete_fields}
            sql = self.template.format(table=quote(self.model._meta.db_table), column=columns)
            self._sql[using] = sql
        return sql

    def execute(self, using: str, values: Sequence[tuple[str, Any]]) -> int:
        """Run it with the `(field name, value)` pairs of its placeholders, in order; how many
        rows it changed."""
        connection = connections[using]
        params = [prepare(self.model, name, value, connection) for name, value in values]
        # As QuerySet.update: an error inside a transaction marks it for rollback.
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(self.sql(using), params)
            return cursor.rowcount


def prepare(model: type[models.Model], name: str, value: Any, connection: Any) -> Any:
    """`value` as the database takes it for the field `name` of `model`."""
    return model._meta.get_field(name).get_db_prep_save(value, connection=connection)


class UpdateStatements:
    """`UPDATE table SET <fields> WHERE <condition>` for any set of fields, one SQL per set."""

    def __init__(self, model: type[models.Model], condition: Template) -> None:
        self.model = model
        self.condition = condition
        self._statements: dict[tuple[str, ...], Statement] = {}

    def execute(
        self, using: str, values: Sequence[tuple[str, Any]], where: Sequence[tuple[str, Any]]
    ) -> int:
        """Set the `(field name, value)` pairs of `values` where the condition holds for the
        values of `where` (its placeholders' fields and values, in order)."""
        fields = tuple(name for name, _value in values)
        statement = self._statements.get(fields)
        if statement is None:
            sets = ", ".join(f"{{column[{name}]}} = %s" for name in fields)
            template = f"UPDATE {{table}} SET {sets} WHERE {self.condition}"
            statement = self._statements[fields] = Statement(self.model, template)
        return statement.execute(using, [*values, *where])


class RowReader:
    """Reads one row of `model` by primary key into a model instance, as `.first()` would."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.names = [f.attname for f in fields]
        self.pk_name = model._meta.pk.name
        columns = ", ".join(f"{{column[{f.name}]}}" for f in fields)
        where = f"{{column[{self.pk_name}]}} = %s"
        self.statement = Statement(model, f"SELECT {columns} FROM {{table}} WHERE {where}")
        self._converters: dict[str, list[tuple[int, list[Callable], Any]]] = {}

    def get(self, using: str, pk: Any) -> models.Model | None:
        """The row with primary key `pk`, or None."""
        connection = connections[using]
        param = prepare(self.model, self.pk_name, pk, connection)
        with connection.cursor() as cursor:
            cursor.execute(self.statement.sql(using), [param])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for index, converters, column in self._converters_of(using):
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(using, self.names, values)

    def _converters_of(self, using: str) -> list[tuple[int, list[Callable], Any]]:
        """Per column: the backend's and the field's converters, as the ORM applies them."""
        found = self._converters.get(using)
        if found is None:
            connection, table = connections[using], self.model._meta.db_table
            found = []
            for index, field in enumerate(self.model._meta.concrete_fields):
                column = field.get_col(table)
                converters = connection.ops.get_db_converters(column)
                converters += column.get_db_converters(connection)
                if converters:
                    found.append((index, converters, column))
            self._converters[using] = found
        return found
