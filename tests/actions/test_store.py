"""The actions service's file of modes and overrides (actions/store.py): read back as saved, a
half-written temporary file ignored."""

from actions.store import FILE_NAME, Store


def test_outputs_are_saved_only_when_changed_and_read_back(tmp_path):
    store = Store(tmp_path / "state")
    assert store.load() == {}
    outputs = {"fan": {"mode": "hand", "override": None}}
    assert store.save(outputs)
    assert not store.save(dict(outputs))
    assert Store(tmp_path / "state").load() == outputs


def test_a_half_written_temporary_file_is_ignored_and_removed(tmp_path):
    Store(tmp_path).save({"fan": {"mode": "off"}})
    (tmp_path / f".{FILE_NAME}-x1y2.tmp").write_text('{"fan": {"mo')  # the power went mid-write
    assert Store(tmp_path).load() == {"fan": {"mode": "off"}}
    assert [path.name for path in tmp_path.iterdir()] == [FILE_NAME]
