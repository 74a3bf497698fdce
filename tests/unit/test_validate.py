"""``eventflow-local validate``: the start-up plan of a template, nothing started; and the
conformance runner (``tools/conformance.py``) that puts SAM's corpus through it."""

from __future__ import annotations

import shutil
import threading

from eventflow_local.cli.main import main
from tests.unit.template_files import ROOT
from tools.conformance import run

APP = ROOT / "tests" / "apps" / "validate_app" / "template.yaml"
SAMPLE = ROOT / "tests" / "apps" / "conformance_sample"


def test_validate_prints_what_would_run_and_names_the_rest_starting_nothing(tmp_path, capsys):
    # GIVEN a copy of an app: an API function, a worker with a stream, an SQS and a schedule event
    app = tmp_path / "app"
    shutil.copytree(APP.parent, app)
    threads = set(threading.enumerate())
    # WHEN it is validated
    code = main(["validate", "-t", str(app / "template.yaml")])
    out = capsys.readouterr().out.splitlines()

    # THEN it exits 0 with the plan: functions, the route, the sources that would start, tables
    assert code == 0
    assert out[0].endswith("template.yaml: accepted; `up` would start:")
    assert "    Worker (python3.13, app.handler, 10 s, 128 MB)" in out
    assert "    open (no authorizer): GET /items" in out
    assert "    Worker <- DynamoDB stream of Items (batch 5, starting LATEST, retries 2)" in out
    assert "    Worker <- AWS::Events::Rule WorkerTick rate(5 minutes)" in out
    assert "    Items (Items, stream NEW_IMAGE)" in out
    # AND the SQS event is a source, as `up` starts it, and nowhere named as not emulated
    queue = [line for line in out if line.startswith("    Worker <- SQS queue ")]
    assert len(queue) == 1 and queue[0].endswith(" (batch 10)")
    assert not any("SQS" in line for line in out if line.startswith("not emulated:"))
    # AND nothing was started: no state dir, no new thread (broker, DynamoDB, workers)
    assert not (app / ".eventflow-local").exists()
    assert set(threading.enumerate()) <= threads


def test_validate_names_a_refused_mapping_and_still_exits_0(capsys):
    code = main(["validate", "-t", str(APP), "--parameter-overrides", "Retries=20000"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert (
        "refused: Worker.Changes: MaximumRetryAttempts: 20000 is out of range: "
        "minimum -1, maximum 10000"
    ) in out
    assert not any(line.startswith("    Worker <- DynamoDB") for line in out)


def test_validate_of_a_template_rejected_whole_is_one_line_and_exit_2(capsys):
    # GIVEN a template SAM rejects whole  WHEN validated  THEN exit 2 and one line on stderr
    code = main(["validate", "-t", str(SAMPLE / "error_globals_unsupported_property.yaml")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: template: ") and "NotAProperty" in line


def test_the_conformance_runner_counts_refusals_and_lists_each_mismatch(tmp_path):
    # GIVEN the sample corpus (one error_ template without a Transform line, as most of SAM's
    # corpus: the runner implies it, as SAM's tests do), and a copy where an accepted template
    # is named error_
    report = run(SAMPLE, timeout=20)
    assert report.lines()[:6] == [
        "templates: 3",
        "tracebacks: 0",
        "hangs: 0",
        "network: 0",
        "error_ templates: 2: refused 2, accepted 0",
        "other templates: 1: planned 1, refused 0",
    ]
    (implied,) = [o for o in report.outcomes if o.template == "error_event_without_type.yaml"]
    assert implied.kind == "refused" and "Event with id [Broken] is invalid" in implied.message
    assert not report.failed and report.mismatches() == []
    shutil.copytree(SAMPLE, tmp_path / "corpus")
    valid = tmp_path / "corpus" / "valid_function_with_api.yaml"
    valid.rename(valid.with_name("error_but_accepted.yaml"))

    # WHEN the runner reads the copy  THEN the accepted error_ template is a mismatch
    lines = run(tmp_path / "corpus", timeout=20).lines()
    assert "error_ templates: 3: refused 2, accepted 1" in lines
    assert lines[-2:] == ["mismatches (1):", "  error_but_accepted.yaml: planned: "]


def test_the_conformance_runner_names_a_missing_corpus_in_one_line(tmp_path, capsys):
    from tools.conformance import main as conformance_main

    missing = tmp_path / "nowhere"
    assert conformance_main([str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such folder"


def test_globals_that_are_not_a_map_are_sams_one_line_not_a_traceback(tmp_path, capsys):
    # GIVEN a template whose Globals is a list (SAM's corpus: error_globals_is_not_dict)
    path = tmp_path / "template.yaml"
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nGlobals: [1, 2]\nResources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: s3://b/k.zip, Handler: a.b, Runtime: python3.13}\n"
    )
    # WHEN validated  THEN exit 2 with SAM's reason in one line
    assert main(["validate", "-t", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "SAM's transform rejects the template" in line and "Globals" in line


def test_validate_plans_the_messaging_sources_that_up_starts(capsys):
    # GIVEN apps whose functions are fed by an SQS queue and by an SNS subscription, by
    # EventBridge rules, by S3 notifications and by a Kinesis stream
    lines = []
    for app in ("sns_app", "eventbridge_app", "s3_app", "kinesis_app"):
        assert main(["validate", "-t", str(ROOT / "tests" / "apps" / app / "template.yaml")]) == 0
        lines += capsys.readouterr().out.splitlines()
    # THEN each is planned as an event source, and none is named as not emulated
    sources = [line.strip() for line in lines if " <- " in line]
    assert any(s.startswith("AuditFunction <- SQS queue ") for s in sources)
    assert any(s.startswith("AlertFunction <- SNS topic ") for s in sources)
    assert "RecorderFunction <- EventBridge rule PaidOrders on bus orders" in sources
    assert any(s.startswith("IngestFunction <- S3 bucket ") for s in sources)
    assert any(s.startswith("ConsumerFunction <- Kinesis stream ") for s in sources)
    assert not any("is not emulated" in line and "event type" in line for line in lines)
