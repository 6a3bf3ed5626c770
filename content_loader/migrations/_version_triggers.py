"""The triggers that give the content version a new number whenever a statement writes a row of a table
(PostgreSQL only), for this app's migration 0004 and learn's 0002. Not a migration itself (the leading
underscore keeps Django's loader from reading it as one)."""

# Statement-level triggers with transition tables: a statement that writes no row (a sync that changes
# nothing) leaves the version as it is; one that writes a thousand rows moves it once.
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def create(schema_editor, tables: list[str]) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        for event, rows in EVENTS.items():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_version_{event} AFTER {event.upper()} ON {table}"
                f" REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION content_loader_new_version()"
            )


def drop(schema_editor, tables: list[str]) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        for event in EVENTS:
            schema_editor.execute(f"DROP TRIGGER {table}_version_{event} ON {table}")
