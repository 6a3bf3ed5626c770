"""Staff tooling over progress rows: `doctor` (find and repair inconsistent rows), `legacy` (import the
old platform's sessions), `learner_data` (a learner's export and erasure) and `audit` (staff corrections
with their append-only record and undo).

They live in `progress`, beside the engine, because they write its tables under its rules (the
per-learner lock, the claiming merge, the upserts of `progress.sql`); a separate app would have to write
another app's rows. They are a package of their own so that the engine (models, services, queries, sql)
reads apart from them: nothing in the engine imports the tooling."""
