"""Rows read and written with SQL built once per process: the ADT listener's hot path, and the
audit trail's one INSERT per read or change of patient data.

Django compiles every queryset anew: for the ten statements of an ADT message that cost more
than the statements themselves (bench/bench_mllp.py). These helpers build each statement once
from the model's metadata (table, columns, the backend's quoting and FOR UPDATE), keep it, and
run it through Django's cursor, so the database errors, the conversions of values and the
transaction are Django's own: `fetch` returns model instances as a queryset would (with the
backend's and the fields' converters applied), `insert` and `update` write what `save()` would
(`pre_save`, `get_db_prep_save`). No signals are sent: no model of this project listens to one.

Conditions are SQL written by the caller on the main table's alias `t` (`"t.ipp = %s"`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Field, ForeignKey, Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]

_statements: dict[tuple[Any, ...], Any] = {}


def _columns(model: type[Model]) -> list[Field]:
    return list(model._meta.concrete_fields)


def _converters(fields: list[Field], alias: str, connection: Any) -> list[tuple[int, list[Converter], Any]]:
    """Per column, what Django's compiler applies to a fetched value (backend then field)."""
    out = []
    for i, field in enumerate(fields):
        col = field.get_col(alias)
        convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if convs:
            out.append((i, convs, col))
    return out


class _Select:
    def __init__(
        self,
        model: type[Model],
        where: str,
        related: Sequence[str],
        lock: bool,
        order_by: str,
        connection: Any,
    ):
        qn = connection.ops.quote_name
        meta = model._meta
        self.model = model
        self.fields = _columns(model)
        select = [f"t.{qn(f.column)}" for f in self.fields]
        joins = []
        # (attribute name, model, first column index, fields) of each joined row
        self.related: list[tuple[str, type[Model], int, list[Field]]] = []
        for i, name in enumerate(related):
            fk = meta.get_field(name)
            assert isinstance(fk, ForeignKey)
            rel_model = fk.related_model
            rel_fields = _columns(rel_model)
            alias = f"r{i}"
            self.related.append((name, rel_model, len(select), rel_fields))
            select += [f"{alias}.{qn(f.column)}" for f in rel_fields]
            target = fk.target_field.column
            joins.append(
                f"LEFT OUTER JOIN {qn(rel_model._meta.db_table)} {alias} "
                f"ON {alias}.{qn(target)} = t.{qn(fk.column)}"
            )
        sql = f"SELECT {', '.join(select)} FROM {qn(meta.db_table)} t {' '.join(joins)} WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        sql += " LIMIT 1"
        if lock and connection.features.has_select_for_update:
            sql += " FOR UPDATE OF t" if connection.features.has_select_for_update_of else " FOR UPDATE"
        self.sql = sql
        self.converters = _converters(self.fields, "t", connection)
        self.related_converters = [_converters(fs, "r", connection) for _, _, _, fs in self.related]

    def row_to_object(self, row: Sequence[Any], db: str, connection: Any) -> Model:
        n = len(self.fields)
        obj = _instance(self.model, row[:n], self.converters, db, connection)
        for (name, rel_model, start, rel_fields), convs in zip(
            self.related, self.related_converters, strict=True
        ):
            values = row[start : start + len(rel_fields)]
            rel = None if values[0] is None else _instance(rel_model, values, convs, db, connection)
            setattr(obj, name, rel)
        return obj


def _instance(
    model: type[M],
    values: Sequence[Any],
    converters: list[tuple[int, list[Converter], Any]],
    db: str,
    connection: Any,
) -> M:
    values = list(values)
    for i, convs, col in converters:
        value = values[i]
        for conv in convs:
            value = conv(value, col, connection)
        values[i] = value
    return model.from_db(db, None, values)


def fetch(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    related: Sequence[str] = (),
    lock: bool = False,
    order_by: str = "",
) -> M | None:
    """The first row of `model` matching `where`, its foreign keys in `related` joined and set
    on it (None when empty); `lock` takes a row lock on the main table as `select_for_update`."""
    db = router.db_for_read(model)
    connection = connections[db]
    key = ("select", model, where, tuple(related), lock, order_by, db)
    stmt = _statements.get(key)
    if stmt is None:
        stmt = _statements[key] = _Select(model, where, related, lock, order_by, connection)
    with connection.cursor() as cursor:
        cursor.execute(stmt.sql, params)
        row = cursor.fetchone()
    return None if row is None else stmt.row_to_object(row, db, connection)


def _insert_sql(model: type[Model], rows: int, skip: bool, connection: Any) -> tuple[str, list[Field], bool]:
    qn = connection.ops.quote_name
    meta = model._meta
    fields = [f for f in _columns(model) if not f.generated and f is not meta.auto_field]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES {', '.join([one] * rows)}"
    )
    if skip:  # PostgreSQL and SQLite share this syntax
        sql += " ON CONFLICT DO NOTHING"
    returning = bool(
        rows == 1 and meta.auto_field is not None and connection.features.can_return_columns_from_insert
    )
    if returning:
        sql += f" RETURNING {qn(meta.auto_field.column)}"
    return sql, fields, returning


def insert(objs: Sequence[Model], skip_conflicting: bool = False) -> bool:
    """INSERT the unsaved instances (one statement, all of one model); a single one gets its
    primary key back. Raises Django's `IntegrityError` as `save()` would, unless
    `skip_conflicting`: then a row that breaks a unique constraint is not written, and the
    result says whether every row was."""
    if not objs:
        return True
    model = type(objs[0])
    db = router.db_for_write(model)
    connection = connections[db]
    key = ("insert", model, len(objs), skip_conflicting, db)
    built = _statements.get(key)
    if built is None:
        built = _statements[key] = _insert_sql(model, len(objs), skip_conflicting, connection)
    sql, fields, returning = built
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:  # SQLite counts the rows of an INSERT … RETURNING only once they are read
            row = cursor.fetchone()
            written = row is not None
            if written:
                objs[0].pk = row[0]
        else:
            written = cursor.rowcount == len(objs)
            if written and len(objs) == 1 and model._meta.auto_field is not None:
                objs[0].pk = cursor.lastrowid
    if written:
        for obj in objs:
            obj._state.adding = False
            obj._state.db = db
    return written


def update(obj: Model, fields: Sequence[str]) -> None:
    """UPDATE the named fields of a saved instance (as `save(update_fields=…)`)."""
    model = type(obj)
    db = router.db_for_write(model)
    connection = connections[db]
    key = ("update", model, tuple(fields), db)
    built = _statements.get(key)
    if built is None:
        qn = connection.ops.quote_name
        meta = model._meta
        targets = [meta.get_field(name) for name in fields]
        sets = ", ".join(f"{qn(f.column)} = %s" for f in targets)
        sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(meta.pk.column)} = %s"
        built = _statements[key] = (sql, targets)
    sql, targets = built
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in targets]
    params.append(obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
