"""Forms recorded once: each state-changing form is shown with a one-time key (a hidden field,
`services.new_key`), and `services.record_once` writes what it sent and keeps the key in one
transaction. The same form sent again (a double click, or the browser's back button and the
button once more) finds its key and writes nothing. A key is its own form's (`SentForm.target`,
named by the caller: which case's which step): sent with another form, it is that form's first
send. Used by the case pages (intake, steps, the report), the complaint form and the desk's
email form; moved here from `cases` so that apps of every layer can use it (docs/security.md,
side doors round 13)."""
