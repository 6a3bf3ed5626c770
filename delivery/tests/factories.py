from datetime import timedelta

import factory
from django.utils import timezone

from delivery.models import ContentSync

REPORT = {
    "summary": "Synced the vault: 2 added, 1 changed, 0 retired (5 unchanged); 2 error(s), 1 warning(s) in 1.2 s.",
    "drafts": ["Lenses/Draft lens.md"],
    "diagnostics": [
        {
            "path": "Lenses/Broken.md",
            "line": 7,
            "severity": "error",
            "message": "unknown segment type `#### Vidoe`",
            "suggestion": "did you mean `#### Video`?",
            "end_line": 7,
        },
        {
            "path": "Lenses/Broken.md",
            "line": 2,
            "severity": "warning",
            "message": "title is empty",
            "suggestion": "",
            "end_line": 2,
        },
        {
            "path": "Lenses/Draft lens.md",
            "line": 4,
            "severity": "error",
            "message": "missing required field `content::`",
            "suggestion": "add it under the heading",
            "end_line": 4,
        },
        {"path": "notes.md", "line": 1, "severity": "info", "message": "skipped", "suggestion": "", "end_line": 1},
    ],
}


class ContentSyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentSync

    source = ContentSync.Source.GIT
    location = "https://github.com/example/course-content.git"
    ref = "main"
    trigger = "1 request(s): GitHub push by ada"
    commit_sha = factory.Sequence(lambda n: f"{n:04d}" + "c0ffee" * 6)
    commit_author = "Ada Author <ada@example.org>"
    commit_date = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    commit_message = "Retitle the sleep lens\n\nAnd fix a typo."
    status = ContentSync.Status.SUCCEEDED_WITH_ERRORS
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=4))
    heartbeat_at = factory.LazyAttribute(lambda o: o.started_at)
    finished_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=3))
    added, changed, retired, unchanged, drafts, errors, warnings = 2, 1, 0, 5, 1, 2, 1
    report = factory.LazyFunction(lambda: REPORT)
