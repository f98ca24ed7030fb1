"""Property-based run of /api/v1 against its own OpenAPI document (schemathesis), every check on:
schema-valid input (positive) and schema-violating input (negative); no 5xx; responses, status codes,
headers and content types as documented; invalid input refused; valid input accepted — except where a
rule of the domain that a schema cannot express refuses it (listed below, each with its reason).

Operations are driven one by one with Hypothesis (schemathesis' lazy pytest plugin does not work with
pytest 9 here: it reads `request.node._nodeid`); every operation's failures are collected so one run
shows them all.
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from statuspage.services.users import create_token
from tests.support.factories import make_components

EXAMPLES = 25
KEYS = itertools.count()

# Schema-valid requests the domain refuses with 4xx by design (positive_data_acceptance is off for these only).
DOMAIN_RULES = {
    "POST /api/v1/subscribers": "a webhook URL must resolve to a public address (outbound policy)",
    "POST /api/v1/maintenance": "a window ends after it starts and lasts at most 30 days",
    "PATCH /api/v1/maintenance/{public_id}": "an update needs a body or a new status; a started window "
                                             "cannot go back to scheduled",
    "PATCH /api/v1/incidents/{public_id}": "key times keep their order (detected ≥ started, mitigated ≤ "
                                           "resolved); a published incident cannot become a draft",
    "POST /api/v1/incidents/{public_id}/updates": "an internal note has only a body",
    "POST /api/v1/checks/{slug}/silence": "until or minutes, not both",
    "PUT /api/v1/accounts/{external_id}": "the id cannot change",
    "GET /api/v1/sla": "a period runs forwards (from ≤ to) and needs its start",
    "POST /api/v1/accounts": "an account id is taken once; a contact address appears once (in any case)",
    "PATCH /api/v1/accounts/{external_id}": "the id cannot change",
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_what_its_openapi_document_says(app, mode):
    make_components("api", "web")
    _, token = create_token("schemathesis", "write")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.hook
    def filter_query(ctx, query):
        # The document says not to combine page/per_page with their limit/offset aliases (a rule between
        # parameters, which OpenAPI cannot state); the server refuses the mix with 400.
        names = set(query or ())
        return mode != GenerationMode.POSITIVE or not (names & {"page", "per_page"} and names & {"limit", "offset"})

    @schema.auth()
    class Bearer:
        # Through schemathesis, so that negative cases which leave the credentials out are known as such.
        def get(self, case, ctx):
            return token

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []

    for operation in operations:
        excluded = [positive_data_acceptance] if operation.label in DOMAIN_RULES else []

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):  # called right below, in this iteration: `excluded` is this operation's
            if case.headers and "Idempotency-Key" in case.headers and mode == GenerationMode.POSITIVE:
                # Generated keys repeat across examples with other bodies, which is a 422 by design
                # (a key is for one request); a valid key of its own per case keeps the header exercised.
                case.headers["Idempotency-Key"] = f"key-{next(KEYS)}"
            case.call_and_validate(excluded_checks=excluded)  # noqa: B023 (run() is called in this iteration)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
