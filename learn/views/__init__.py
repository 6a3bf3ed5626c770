"""The learner pages' views: `pages` (course list, overview, module viewer, mark complete, My progress)
and `answers` (answers to questions and submitting a test, which decide locking from progress)."""
