"""Notebook 07's exercise checks: right answers pass, wrong ones get a hint, untouched ones "not done yet"."""

from alexnet_lib.claims_report import verdict
from alexnet_lib.lessons.claims import check_ablation, check_gap_explanation, check_prediction, check_record


def fake_record(baseline: list[float], claimed: list[float]) -> dict:
    summary = verdict(baseline, claimed)
    summary |= {"values": {"tanh": baseline, "relu": claimed}, "censored": {"tanh": [False], "relu": [False]}}
    summary |= {"tanh": {"mean": sum(baseline) / len(baseline)}, "relu": {"mean": sum(claimed) / len(claimed)}}
    record = {key: {} for key in ("name", "claim", "profile", "device", "versions", "settings", "curves")}
    return record | {
        "arms": {"baseline": "tanh", "claimed": "relu"},
        "seeds": list(range(len(claimed))),
        "summary": summary,
    }


def test_prediction_is_checked_against_the_measured_direction(capsys):
    record = fake_record([12.0], [5.0])  # relu measured better
    assert not check_prediction(..., None)
    assert "Not done yet" in capsys.readouterr().out
    assert check_prediction("relu", record)
    assert "not separable" in capsys.readouterr().out  # one seed: said, even when the direction agrees
    assert not check_prediction("tanh", record)
    assert not check_prediction("sigmoid", record)
    assert not check_prediction("relu", fake_record([5.0], [12.0]))  # the run went the other way


def test_record_check_recomputes_the_verdict():
    assert check_record(fake_record([0.40, 0.42], [0.30, 0.31]))
    forged = fake_record([0.40, 0.50], [0.38, 0.45])
    forged["summary"]["verdict"] = "reproduced"
    try:
        check_record(forged)
    except AssertionError as error:
        assert "does not follow the rule" in str(error)
    else:
        raise AssertionError("a verdict that breaks the rule passed")


def test_an_ablation_changes_exactly_one_setting_and_runs(capsys):
    assert not check_ablation(...)
    assert "Not done yet" in capsys.readouterr().out
    assert not check_ablation({"flip": False, "pca_std": 0.1})
    assert "exactly one setting" in capsys.readouterr().out
    assert not check_ablation({"activation": "sigmoid"})
    assert "cannot be built" in capsys.readouterr().out
    assert check_ablation({"flip": False})


def test_the_gap_explanation_must_name_two_causes(capsys):
    assert not check_gap_explanation(...)
    assert not check_gap_explanation("it is different")
    assert check_gap_explanation("We trained for a few epochs on a small subset, not 90 epochs of ImageNet.")
    out = capsys.readouterr().out
    assert "Correct!" in out and "90 epochs" not in out.split("Correct!")[1]  # the hint never gives the answer
