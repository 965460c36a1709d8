"""PostgreSQL's test-database creation, with the drop at the end of a test run forced."""

from __future__ import annotations

from django.db.backends.postgresql import creation


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        """Django's drop of the test database, `WITH (FORCE)`: PostgreSQL ends the sessions
        still connected to it and drops it in one statement.

        Django's plain `DROP DATABASE` is refused while another session is connected ("is being
        accessed by other users"); a test run leaves such sessions now and then (a thread's
        persistent connection, CONN_MAX_AGE, not yet collected; a child process not yet gone),
        and pytest-django then only warns, leaving the database on the server until the next
        run's cleanup. Ending them from the test process first was a race with the sessions
        themselves; the forced drop is not. Django's own connection is closed before this."""
        self.connection.close_pool()  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs
        name = self.connection.ops.quote_name(test_database_name)
        with self._nodb_cursor() as cursor:  # type: ignore[attr-defined]  # Django's, not stubbed
            cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")
