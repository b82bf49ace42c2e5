import pytest

from pipelines import cards, metrics
from pipelines.errors import CardError

FOUNDATION = {"injection-molding-quality": "binary", "steel-plate-fault-type": "multiclass",
              "heat-treatment-hardness": "regression", "turbofan-rul": "rul", "press-anomaly": "anomaly",
              "steel-plant-energy": "forecast"}


def test_catalog_covers_every_task_kind():
    loaded = {c.id: c.task for c in cards.list_cards()}
    for card_id, task in FOUNDATION.items():
        assert loaded.get(card_id) == task
    assert set(loaded.values()) >= set(metrics.TASK_METRICS)


@pytest.mark.parametrize("card_id", cards.list_ids())
def test_every_card_is_consistent(card_id):
    card = cards.load_card(card_id)
    assert card.id == card_id
    assert card.metric.primary in metrics.for_task(card.task)
    assert card.feature_columns, "a card needs at least one input column"
    assert not set(card.exclude) & set(card.feature_columns)
    if card.time and card.time.column:
        assert card.time.column not in card.feature_columns
    if card.task == "binary":  # the alarm threshold needs the plant's prices, with where they come from
        assert card.costs is not None and card.costs.why and card.costs.unit
        assert card.costs.missed != card.costs.false_alarm or "equal" in card.costs.why


def test_leaking_columns_are_excluded():
    energy = cards.load_card("steel-plant-energy")
    assert {"CO2(tCO2)", "Lagging_Current_Reactive_Power_kVarh"} <= set(energy.exclude)


@pytest.mark.parametrize("change, field", [
    (lambda raw: raw.pop("metric"), "metric"),
    (lambda raw: raw["metric"].update(primary="accuracy"), "metric.primary"),
    (lambda raw: raw.update(task="clustering"), "task"),
    (lambda raw: raw["split"].update(test_size=1.5), "split.test_size"),
    (lambda raw: raw.update(settings=["No_Such_Column"]), "settings"),
    (lambda raw: raw["columns"].append({"name": "X", "min": 5, "max": 1}), "min 5.0 is above max 1.0"),
    (lambda raw: raw.update(costs={"false_alarm": 1, "missed": 20}), "only a binary card"),
    (lambda raw: raw.update(costs={"false_alarm": 0, "missed": 20}), "costs.false_alarm"),
])
def test_broken_card_names_file_and_field(catalog_copy, change, field):
    path = catalog_copy.edit("heat-treatment-hardness", change)
    with pytest.raises(CardError) as info:
        cards.load_card("heat-treatment-hardness")
    message = str(info.value)
    assert str(path) in message
    assert field in message


def test_card_id_must_match_file_name(catalog_copy):
    catalog_copy.edit("press-anomaly", lambda raw: raw.update(id="press-anomaly-2"))
    with pytest.raises(CardError, match="must equal the file name"):
        cards.load_card("press-anomaly")


def test_unknown_card_lists_known_ones():
    with pytest.raises(CardError, match="known cards: .*turbofan-rul"):
        cards.load_card("no-such-model")
